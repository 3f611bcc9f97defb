# By name, TYPE:NAME, or id.
terraform import sym_target.cloudwatch_readonly aws_iam_group:CloudwatchReadOnly

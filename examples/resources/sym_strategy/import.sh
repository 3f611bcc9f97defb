# By name, TYPE:NAME, or id.
terraform import sym_strategy.aws_iam aws_iam:main-aws-iam

# By name or by id.
terraform import sym_flow.iam_access iam_access

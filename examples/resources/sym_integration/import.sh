# By name, TYPE:NAME, or id.
terraform import sym_integration.iam_context permission_context:main-iam

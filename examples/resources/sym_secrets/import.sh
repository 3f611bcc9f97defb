# By name, TYPE:NAME, or id.
terraform import sym_secrets.main aws_secrets_manager:main

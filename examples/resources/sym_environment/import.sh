# By name or by id.
terraform import sym_environment.prod prod

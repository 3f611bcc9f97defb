# By name or by id.
terraform import sym_runtime.prod prod

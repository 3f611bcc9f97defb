variable "environment" {
  description = "The environment's name (prod, sandbox): the sym_environment's name and part of every IAM name (/sym/SymRuntime<Environment>)."
  type        = string
}

variable "trusted_principal_arns" {
  description = "ARNs of the IAM identity sym server runs as; only these may assume the runtime connector role, with its External ID."
  type        = list(string)
}

variable "account_id_safelist" {
  description = "Other AWS account ids in which the runtime may assume /sym/ connector roles."
  type        = list(string)
  default     = []
}

variable "secrets_tag_name" {
  description = "The tag whose value must equal the environment for the runtime to read a secret."
  type        = string
  default     = "SymEnv"
}

variable "tags" {
  description = "Tags applied to the runtime connector's role and policies."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "The Sym environment this connector serves; it becomes part of the role and policy names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", var.environment))
    error_message = "The environment must be 1 to 32 lowercase letters, digits, hyphens or underscores, starting with a letter or digit (it becomes part of IAM names), for example \"prod\" or \"sandbox-2\"."
  }
}

variable "runtime_role_arns" {
  description = "ARNs of the runtime connector roles allowed to assume this role (role chaining: no External ID on this hop)."
  type        = list(string)

  validation {
    condition     = length(var.runtime_role_arns) > 0 && alltrue([for a in var.runtime_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$", a))])
    error_message = "The runtime_role_arns must be a non-empty list of IAM role ARNs such as arn:aws:iam::123456789012:role/sym/SymRuntimeProd."
  }
}

variable "instance_arn" {
  description = "ARN of the IAM Identity Center instance (arn:aws:sso:::instance/ssoins-...). Empty means the one instance of the account this module is applied in."
  type        = string
  default     = ""

  validation {
    condition     = var.instance_arn == "" || can(regex("^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$", var.instance_arn))
    error_message = "The instance_arn must be an IAM Identity Center instance ARN such as arn:aws:sso:::instance/ssoins-1234567890abcdef, or empty to use the account's instance."
  }
}

variable "sso_account_assignment_enabled" {
  description = "Attach the SymSSO<Environment>-Account policy: the IAM changes (AWSReservedSSO_* roles, the AWSSSO_* SAML provider) Identity Center makes in the caller's name when it provisions an account assignment. Needed when permission sets are assigned to the account this role lives in."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every taggable resource this module creates."
  type        = map(string)
  default     = {}
}

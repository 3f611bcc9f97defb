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

variable "lambda_arns" {
  description = "ARNs of the Lambda functions the runtime may invoke. Nothing else is allowed."
  type        = list(string)

  validation {
    condition     = length(var.lambda_arns) > 0 && alltrue([for a in var.lambda_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[\\w*?-]+(:[\\w$*-]+)?$", a))])
    error_message = "The lambda_arns must be a non-empty list of Lambda function ARNs such as arn:aws:lambda:us-east-1:123456789012:function:sym-grant."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource this module creates."
  type        = map(string)
  default     = {}
}

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

variable "group_config" {
  description = "IAM groups the runtime may add users to and remove them from: a list of {path, name}. Wildcards (* and ?) are allowed; the path must start and end with a slash."
  type = list(object({
    path = string
    name = string
  }))
  default = [{ path = "/sym/", name = "*" }]

  validation {
    condition     = length(var.group_config) > 0 && alltrue([for g in var.group_config : can(regex("^/([\\x21-\\x2e\\x30-\\x7e]+/)*$", g.path))])
    error_message = "Every group_config path must start and end with a slash, for example \"/\" or \"/sym/\" (got a path without them), and the list must not be empty."
  }

  validation {
    condition     = alltrue([for g in var.group_config : can(regex("^[\\w+=,.@*?-]{1,128}$", g.name))])
    error_message = "Every group_config name must be an IAM group name or a pattern of one (letters, digits, +=,.@_- and the wildcards * and ?), without slashes."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource this module creates."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "An environment qualifier for the resources this module creates (e.g. \"prod\", \"sandbox\"): the role is /sym/SymRuntime<Environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", var.environment))
    error_message = "The environment must be 1 to 32 lowercase letters, digits, hyphens or underscores, starting with a letter or digit (it becomes part of IAM names), for example \"prod\" or \"sandbox-2\"."
  }
}

variable "account_id_safelist" {
  description = "Additional AWS account ids (beyond the current account, which is always included) in which the runtime may assume /sym/ roles."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.account_id_safelist : can(regex("^[0-9]{12}$", a))])
    error_message = "Every account_id_safelist entry must be a 12-digit AWS account id such as \"123456789012\"."
  }
}

variable "addons" {
  description = "Sym addon permissions for the runtime connector role: any of \"aws/secretsmgr\", \"aws/kinesis-firehose\", \"aws/kinesis-data-stream\"."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.addons : contains(["aws/secretsmgr", "aws/kinesis-firehose", "aws/kinesis-data-stream"], a)])
    error_message = "Unknown addon: the addons must be chosen from \"aws/secretsmgr\", \"aws/kinesis-firehose\" and \"aws/kinesis-data-stream\"."
  }
}

variable "addon_params" {
  description = "Parameters per addon, keyed by addon name: \"aws/secretsmgr\" = { tag_name = \"SymEnv\" }, \"aws/kinesis-data-stream\" = { stream_arns = [...] } (required with that addon)."
  type        = any
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.addon_params) : contains(["aws/secretsmgr", "aws/kinesis-firehose", "aws/kinesis-data-stream"], k)])
    error_message = "Unknown addon in addon_params: its keys must be chosen from \"aws/secretsmgr\", \"aws/kinesis-firehose\" and \"aws/kinesis-data-stream\"."
  }
}

variable "custom_external_id" {
  description = "The External ID the runtime must present when it assumes the role. Blank (the default) generates a UUID once and keeps it."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = trimspace(var.custom_external_id) == "" || (length(var.custom_external_id) <= 1224 && can(regex("^[\\w+=,.@:/-]{2,}$", var.custom_external_id)))
    error_message = "The custom_external_id must be 2 to 1224 characters of letters, digits and +=,.@:/_- (the characters AWS accepts in an External ID), or blank to generate one."
  }
}

variable "policy_arns" {
  description = "Map of logical names to additional IAM managed policy ARNs to attach to the runtime connector role. The names only key Terraform state."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for a in values(var.policy_arns) : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "Every policy_arns value must be an IAM managed policy ARN such as arn:aws:iam::123456789012:policy/sym/Extra."
  }
}

variable "sym_account_ids" {
  description = "AWS account ids whose principals may assume the runtime role (with the External ID), in addition to the current account. Ignored in favour of trusted_principal_arns when that is set; setting both is an error."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.sym_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "Every sym_account_ids entry must be a 12-digit AWS account id such as \"123456789012\"."
  }

  # The original's default: the vendor's production account, which knows
  # the External ID a migrating team keeps (docs/migrating.md step 3).
  validation {
    condition     = !contains(var.sym_account_ids, "803477428605")
    error_message = "803477428605 is the original Sym's production account (the vendor's), the original module's default: a self-hosted runtime role must not trust it, it knows your External ID. Remove it from sym_account_ids; trust the account or the identity sym server runs as (docs/migrating.md step 3)."
  }
}

variable "trusted_principal_arns" {
  description = "Exact IAM principal ARNs (the identity sym server runs as) that may assume the runtime role. When set, the trust policy names exactly these and no account root."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.trusted_principal_arns : can(regex("^arn:aws[a-z-]*:(iam::[0-9]{12}:(root|user/[\\w+=,.@/-]+|role/[\\w+=,.@/-]+)|sts::[0-9]{12}:assumed-role/[\\w+=,.@-]+/[\\w+=,.@-]+)$", a))])
    error_message = "Every trusted_principal_arns entry must be an IAM user, role, account root or assumed-role ARN such as arn:aws:iam::123456789012:role/sym-server."
  }

  validation {
    condition     = alltrue([for a in var.trusted_principal_arns : try(split(":", a)[4], "") != "803477428605"])
    error_message = "803477428605 is the original Sym's production account (the vendor's): a self-hosted runtime role must not trust any principal in it, it knows your External ID. Name the identity sym server runs as in your own account (docs/migrating.md step 3)."
  }
}

variable "tags" {
  description = "Tags applied to the role and to every policy this module creates."
  type        = map(string)
  default     = {}
}

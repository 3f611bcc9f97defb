variable "environment" {
  description = "The Sym environment this policy serves (used in the policy name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", var.environment))
    error_message = "The environment must be 1 to 32 lowercase letters, digits, hyphens or underscores, starting with a letter or digit (it becomes part of IAM names), for example \"prod\" or \"sandbox-2\"."
  }
}

variable "role_name" {
  description = "Name (not ARN) of an IAM role to attach the policy to. Null creates the policy without attaching it."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "The role_name must be an IAM role name (1 to 64 of letters, digits and +=,.@_-), not an ARN or a path."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource this module creates."
  type        = map(string)
  default     = {}
}

variable "stream_arns" {
  description = "ARNs of the Kinesis data streams the runtime may write audit records to (wildcards allowed in the stream name)."
  type        = list(string)

  validation {
    condition     = length(var.stream_arns) > 0 && alltrue([for a in var.stream_arns : can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[\\w.*?-]+$", a))])
    error_message = "The stream_arns must be a non-empty list of Kinesis stream ARNs such as arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit."
  }
}

variable "iam_role_name" {
  description = "The original module's name for role_name: the IAM role (name, not ARN) to attach the policy to. Blank attaches nothing; role_name wins when both are set."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.iam_role_name == "" || can(regex("^[\\w+=,.@-]{1,64}$", var.iam_role_name))
    error_message = "The iam_role_name must be an IAM role name (1 to 64 of letters, digits and +=,.@_-), not an ARN or a path."
  }
}

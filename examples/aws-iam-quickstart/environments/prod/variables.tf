variable "aws_region" {
  description = "The AWS region the provider talks to (IAM is global; STS and Secrets Manager are regional)."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "Base URL of an AWS emulator such as moto_server (http://127.0.0.1:5000). Empty, the default, means AWS itself with your usual credentials."
  type        = string
  default     = ""
  nullable    = false
}

variable "runtime_trusted_principal_arns" {
  description = "ARNs of the IAM identity sym server runs as (a role or user, e.g. arn:aws:iam::123456789012:role/sym-server). Only these may assume the runtime connector role, and only with its External ID."
  type        = list(string)

  validation {
    condition     = length(var.runtime_trusted_principal_arns) > 0
    error_message = "Name at least one principal: the IAM role or user sym server runs as, e.g. [\"arn:aws:iam::123456789012:role/sym-server\"]."
  }
}

variable "account_id_safelist" {
  description = "Other AWS account ids in which the runtime may assume /sym/ connector roles (this account is always allowed)."
  type        = list(string)
  default     = []
}

variable "approvers" {
  description = "Emails of the people who may approve or deny requests. Empty: only sym admins decide (docs/authz.md)."
  type        = list(string)
  default     = []
}

variable "allow_self_approval" {
  description = "Whether requesters may approve their own requests. Keep false outside a sandbox."
  type        = bool
  default     = false
}

variable "durations" {
  description = "The access durations a requester may choose from (Go duration text: 30m, 1h, 4h)."
  type        = list(string)
  default     = ["30m", "1h", "4h"]
}

variable "require_mfa" {
  description = "Whether assuming a target role requires an MFA-authenticated session (aws:MultiFactorAuthPresent)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every AWS resource of this environment."
  type        = map(string)
  default = {
    ManagedBy = "terraform"
    Project   = "sym"
  }
}

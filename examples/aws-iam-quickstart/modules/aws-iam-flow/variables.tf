variable "environment" {
  description = "The environment's name: part of the connector role's name (/sym/SymIAM<Environment>) and of the sym entities' names."
  type        = string
}

variable "environment_id" {
  description = "The id of the sym_environment the flow runs in (module.sym_runtime.environment_id)."
  type        = string
}

variable "runtime_role_arn" {
  description = "ARN of the runtime connector role, the only principal the IAM connector role trusts."
  type        = string
}

variable "targets" {
  description = "The IAM groups requesters may join: group_name (the group's name, also the sym target's name) and label (what requesters see)."
  type = list(object({
    group_name = string
    label      = string
  }))

  validation {
    condition     = length(var.targets) > 0
    error_message = "A flow needs at least one target (IAM group)."
  }
}

variable "group_path" {
  description = "IAM path of the target groups; the connector may manage groups under this path only."
  type        = string
  default     = "/sym/"
}

variable "flow_name" {
  description = "The flow's name, used to request access. Empty: <environment>-iam-access."
  type        = string
  default     = ""
}

variable "flow_label" {
  description = "The flow's name as requesters see it."
  type        = string
  default     = "AWS IAM access"
}

variable "approvers" {
  description = "Emails of the people who may approve or deny. Empty: only sym admins decide (docs/authz.md)."
  type        = list(string)
  default     = []
}

variable "allow_self_approval" {
  description = "Whether a requester may approve their own request."
  type        = bool
  default     = false
}

variable "durations" {
  description = "The durations a requester may choose from; the first is the default."
  type        = list(string)
  default     = ["30m", "1h", "4h"]

  validation {
    condition     = length(var.durations) > 0 && alltrue([for d in var.durations : can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", d)) && d != ""])
    error_message = "The durations must be a non-empty list of durations such as \"30m\", \"1h\" or \"1h30m\"."
  }
}

variable "max_duration" {
  description = "The longest access a request may ask for (e.g. 4h). Empty: the server's default (12h)."
  type        = string
  default     = ""
}

variable "request_timeout" {
  description = "How long a request waits for an approver before it expires (e.g. 1h). Empty: the server's default (24h)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags applied to the IAM connector's role and policy."
  type        = map(string)
  default     = {}
}

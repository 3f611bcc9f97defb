variable "environment" {
  description = "The environment's name: part of the connector role's name (/sym/SymLambda<Environment>) and of the sym entities' names."
  type        = string
}

variable "environment_id" {
  description = "The id of the sym_environment the flow runs in."
  type        = string
}

variable "runtime_role_arn" {
  description = "ARN of the runtime connector role, the only principal the Lambda connector role trusts."
  type        = string
}

variable "targets" {
  description = "The functions requesters may ask for: name (the sym target's name), label, arn."
  type = list(object({
    name  = string
    label = string
    arn   = string
  }))

  validation {
    condition     = length(var.targets) > 0
    error_message = "A flow needs at least one target (function)."
  }
}

variable "flow_name" {
  description = "The flow's name, used to request access. Empty: <environment>-lambda-access."
  type        = string
  default     = ""
}

variable "flow_label" {
  description = "The flow's name as requesters see it."
  type        = string
  default     = "Access through AWS Lambda"
}

variable "approvers" {
  description = "Emails of the people who may approve or deny. Empty: any sym user but the requester."
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

variable "tags" {
  description = "Tags applied to the Lambda connector's role and policy."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the IAM group and of the role its members may assume; also the sym target's name."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.name))
    error_message = "The name must be 1 to 64 letters, digits or +=,.@_- (it names an IAM group and an IAM role)."
  }
}

variable "group_path" {
  description = "IAM path of the group. It must match the iam-connector's group_config, /sym/ by default."
  type        = string
  default     = "/sym/"
}

variable "role_path" {
  description = "IAM path of the target role. Not /sym/: the runtime connector may assume any /sym/ role."
  type        = string
  default     = "/sym-targets/"

  validation {
    condition     = !startswith(var.role_path, "/sym/")
    error_message = "The role_path must not be under /sym/: the runtime connector may assume every role there, and must not be able to assume a target role."
  }
}

variable "policy_json" {
  description = "An inline IAM policy (JSON) with what the role may do. Null for none (use policy_arns)."
  type        = string
  default     = null
}

variable "policy_arns" {
  description = "Managed policies to attach to the role, by a name that only keys Terraform state, e.g. { readonly = \"arn:aws:iam::aws:policy/ReadOnlyAccess\" }."
  type        = map(string)
  default     = {}
}

variable "require_mfa" {
  description = "Whether assuming the role requires an MFA-authenticated session (condition aws:MultiFactorAuthPresent)."
  type        = bool
  default     = false
}

variable "max_session_duration" {
  description = "The longest session (seconds) the role hands out. Removing a user from the group does not end sessions already started, so keep it short."
  type        = number
  default     = 3600
}

variable "tags" {
  description = "Tags applied to the role."
  type        = map(string)
  default     = {}
}

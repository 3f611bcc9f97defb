# One access target: an IAM group under /sym/ whose only power is to assume
# one role, and that role, which holds the actual permissions. sym moves
# users in and out of the group; it never touches the role.
#
# The role is deliberately not under /sym/: the runtime connector may assume
# any /sym/ role, and it must never be able to assume a target role itself.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  # Empty, or the MFA condition: merged into each statement below.
  mfa_condition = { for k, v in { Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } } } : k => v if var.require_mfa }

  # Anyone in this account that an identity policy allows (here: members of
  # the group) may assume the role, with MFA when required.
  trust_policy = {
    Version = "2012-10-17"
    Statement = [
      merge(
        {
          Sid       = "AccountPrincipalsWithPermission"
          Effect    = "Allow"
          Action    = ["sts:AssumeRole", "sts:TagSession"]
          Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        },
        local.mfa_condition,
      ),
    ]
  }

  group_policy = {
    Version = "2012-10-17"
    Statement = [
      merge(
        {
          Sid      = "AssumeTheTargetRoleOnly"
          Effect   = "Allow"
          Action   = ["sts:AssumeRole", "sts:TagSession"]
          Resource = [aws_iam_role.this.arn]
        },
        local.mfa_condition,
      ),
    ]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  path                 = var.role_path
  description          = "Sym access target ${var.name}: assumed by members of the IAM group ${var.group_path}${var.name}"
  assume_role_policy   = jsonencode(local.trust_policy)
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.policy_json == null ? 0 : 1

  name   = "access"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = var.policy_arns

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_iam_group" "this" {
  name = var.name
  path = var.group_path
}

resource "aws_iam_group_policy" "this" {
  name   = "assume-${var.name}"
  group  = aws_iam_group.this.name
  policy = jsonencode(local.group_policy)
}

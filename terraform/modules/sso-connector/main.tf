data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# The Identity Center instance of this account (the organisation's
# management account, or a delegated administrator), unless one is named.
data "aws_ssoadmin_instances" "this" {
  count = var.instance_arn == "" ? 1 : 0
}

locals {
  env_title    = title(var.environment)
  account      = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  name         = "SymSSO${local.env_title}"
  instance_arn = var.instance_arn != "" ? var.instance_arn : one(data.aws_ssoadmin_instances.this[0].arns)

  # Chained hop: only the runtime connector roles, no External ID (the
  # External ID guards the first hop into the runtime connector role).
  trust_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RuntimeConnectorMayAssume"
        Effect    = "Allow"
        Action    = ["sts:AssumeRole"]
        Principal = { AWS = var.runtime_role_arns }
      },
    ]
  }

  # Account assignments, and finding the requester's identity-store user.
  sso_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ManageAccountAssignments"
        Effect   = "Allow"
        Action   = ["sso:CreateAccountAssignment", "sso:DeleteAccountAssignment", "sso:Describe*", "sso:List*"]
        Resource = ["*"]
      },
      {
        Sid      = "FindUsers"
        Effect   = "Allow"
        Action   = ["identitystore:DescribeUser", "identitystore:GetUserId", "identitystore:ListUsers"]
        Resource = ["*"]
      },
    ]
  }

  # aws_sso_group targets: membership of identity-store groups.
  group_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ManageGroupMemberships"
        Effect   = "Allow"
        Action   = ["identitystore:CreateGroupMembership", "identitystore:DeleteGroupMembership"]
        Resource = ["*"]
      },
      {
        Sid    = "ReadGroups"
        Effect = "Allow"
        Action = [
          "identitystore:DescribeGroup",
          "identitystore:DescribeGroupMembership",
          "identitystore:GetGroupMembershipId",
          "identitystore:IsMemberInGroups",
          "identitystore:ListGroupMemberships",
          "identitystore:ListGroupMembershipsForMember",
          "identitystore:ListGroups",
        ]
        Resource = ["*"]
      },
    ]
  }

  list_accounts_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListAccounts"
        Effect   = "Allow"
        Action   = ["organizations:ListAccounts", "organizations:ListAccountsForParent"]
        Resource = ["*"]
      },
    ]
  }

  # What CreateAccountAssignment and DeleteAccountAssignment do on the
  # caller's behalf in the target account: the SAML provider and the
  # AWSReservedSSO_* roles Identity Center provisions.
  account_assignment_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ProvisionIdentityCenterRoles"
        Effect = "Allow"
        Action = [
          "iam:AttachRolePolicy",
          "iam:CreateRole",
          "iam:DeleteRole",
          "iam:DeleteRolePolicy",
          "iam:DetachRolePolicy",
          "iam:GetRole",
          "iam:ListAttachedRolePolicies",
          "iam:ListRolePolicies",
          "iam:PutRolePolicy",
          "iam:UpdateRole",
          "iam:UpdateRoleDescription",
        ]
        Resource = ["arn:${local.partition}:iam::*:role/aws-reserved/sso.amazonaws.com/*"]
      },
      {
        Sid      = "ProvisionIdentityCenterSAMLProvider"
        Effect   = "Allow"
        Action   = ["iam:CreateSAMLProvider", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"]
        Resource = ["arn:${local.partition}:iam::*:saml-provider/AWSSSO_*"]
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name               = local.name
  path               = "/sym/"
  description        = "Sym ${var.environment}: assign IAM Identity Center permission sets and group memberships"
  assume_role_policy = jsonencode(local.trust_policy)
  tags               = var.tags
}

resource "aws_iam_policy" "sso" {
  name        = local.name
  path        = "/sym/"
  description = "Sym ${var.environment}: IAM Identity Center account assignments"
  policy      = jsonencode(local.sso_policy)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "sso" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.sso.arn
}

resource "aws_iam_policy" "sso_group" {
  name        = "SymSSOGroup${local.env_title}"
  path        = "/sym/"
  description = "Sym ${var.environment}: IAM Identity Center group memberships"
  policy      = jsonencode(local.group_policy)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "sso_group" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.sso_group.arn
}

resource "aws_iam_policy" "list_accounts" {
  name        = "SymListAccounts${local.env_title}"
  path        = "/sym/"
  description = "Sym ${var.environment}: list the organisation's accounts"
  policy      = jsonencode(local.list_accounts_policy)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "list_accounts" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.list_accounts.arn
}

resource "aws_iam_policy" "sso_account" {
  count = var.sso_account_assignment_enabled ? 1 : 0

  name        = "${local.name}-Account"
  path        = "/sym/"
  description = "Sym ${var.environment}: the IAM changes Identity Center makes for an account assignment"
  policy      = jsonencode(local.account_assignment_policy)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "sso_account" {
  count = var.sso_account_assignment_enabled ? 1 : 0

  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.sso_account[0].arn
}

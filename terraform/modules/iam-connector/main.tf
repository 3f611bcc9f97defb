data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  env_title = title(var.environment)
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  # The original's name, upper-case IAM (REFERENCE 9): a different name
  # would replace the role under open grants.
  name = "SymIAM${local.env_title}"

  group_arns = distinct([for g in var.group_config : "arn:${local.partition}:iam::${local.account}:group${g.path}${g.name}"])

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

  policy_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ManageMembershipOfConfiguredGroups"
        Effect   = "Allow"
        Action   = ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"]
        Resource = local.group_arns
      },
      {
        Sid      = "ReadUsersAndGroups"
        Effect   = "Allow"
        Action   = ["iam:GetGroup", "iam:GetUser", "iam:ListGroups", "iam:ListGroupsForUser"]
        Resource = ["*"]
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name               = local.name
  path               = "/sym/"
  description        = "Sym ${var.environment}: add users to and remove them from the configured IAM groups"
  assume_role_policy = jsonencode(local.trust_policy)
  tags               = var.tags
}

resource "aws_iam_policy" "this" {
  name        = local.name
  path        = "/sym/"
  description = "Sym ${var.environment}: membership of the configured IAM groups"
  policy      = jsonencode(local.policy_document)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}

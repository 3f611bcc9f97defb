# sso-connector: role /sym/SymSSO<Env> trusted by runtime_role_arns, policy
# SymSSO<Env> attached as `sso`, and (sso_account_assignment_enabled, the
# default) policy SymSSO<Env>-Account attached as `account`, both with
# count; the instance from aws_ssoadmin_instances. (REFERENCE names the IAM
# objects and inputs; the addresses are those of the original module's
# public releases.)
variable "environment" { type = string }
variable "runtime_role_arns" { type = list(string) }
variable "sso_account_assignment_enabled" {
  type    = bool
  default = true
}
variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_ssoadmin_instances" "this" {}

locals {
  name = "SymSSO${title(var.environment)}"
}

resource "aws_iam_role" "this" {
  name = local.name
  path = "/sym/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { AWS = var.runtime_role_arns }
    }]
  })
  tags = var.tags
}

resource "aws_iam_policy" "sso" {
  name        = local.name
  path        = "/sym/"
  description = "SSO escalations"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["sso:CreateAccountAssignment", "sso:DeleteAccountAssignment", "sso:Describe*", "sso:List*", "identitystore:ListUsers"]
      Resource = "*"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "sso" {
  policy_arn = aws_iam_policy.sso.arn
  role       = aws_iam_role.this.name
}

resource "aws_iam_policy" "account" {
  count       = var.sso_account_assignment_enabled ? 1 : 0
  name        = "${local.name}-Account"
  path        = "/sym/"
  description = "Account assignments in the SSO instance's own account"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["iam:GetSAMLProvider", "iam:UpdateSAMLProvider"], Resource = "*" },
      {
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:UpdateRole"]
        Resource = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/aws-reserved/sso.amazonaws.com/*"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "account" {
  count      = var.sso_account_assignment_enabled ? 1 : 0
  policy_arn = aws_iam_policy.account[0].arn
  role       = aws_iam_role.this.name
}

output "settings" {
  value = {
    cloud        = "aws"
    instance_arn = tolist(data.aws_ssoadmin_instances.this.arns)[0]
    region       = data.aws_region.current.name
    role_arn     = aws_iam_role.this.arn
  }
}

# iam-connector v2.0.0: role and policy SymIAM<Env> (upper-case IAM) under
# /sym/, trusted by runtime_role_arns, managing membership of group_config.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.0"
    }
  }
}

variable "environment" { type = string }
variable "runtime_role_arns" { type = list(string) }
variable "group_config" {
  type = list(object({
    path = string
    name = string
  }))
  default = [{ path = "/sym/", name = "*" }]
}
variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  name = "SymIAM${title(var.environment)}"
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

resource "aws_iam_policy" "iam" {
  name        = local.name
  path        = "/sym/"
  description = "Manage membership of the Sym IAM groups"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"]
        Resource = [for g in var.group_config : "arn:aws:iam::${data.aws_caller_identity.current.account_id}:group${g.path}${g.name}"]
      },
      {
        Effect   = "Allow"
        Action   = ["iam:GetGroup", "iam:GetUser", "iam:ListGroups", "iam:ListGroupsForUser"]
        Resource = "*"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "iam" {
  policy_arn = aws_iam_policy.iam.arn
  role       = aws_iam_role.this.name
}

output "settings" {
  value = {
    cloud      = "aws"
    region     = data.aws_region.current.name
    role_arn   = aws_iam_role.this.arn
    account_id = data.aws_caller_identity.current.account_id
  }
}

# runtime-connector v1.0.x: role aws_iam_role.this trusted by sym_account_ids
# with the External ID and by itself, the assume-roles policy, policy_arns
# attachments, and one child module per addon with its attachment here.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.0"
    }
  }
}

variable "environment" { type = string }
variable "addons" {
  type    = list(string)
  default = []
}
variable "addon_params" {
  type    = any
  default = {}
}
variable "account_id_safelist" {
  type    = list(string)
  default = []
}
variable "custom_external_id" {
  type    = string
  default = ""
}
variable "policy_arns" {
  type    = map(string)
  default = {}
}
variable "sym_account_ids" {
  type    = list(string)
  default = ["803477428605"]
}
variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  role_name = "SymRuntime${title(var.environment)}"
  # v1 falls back to random_uuid.external_id; these tests always set
  # custom_external_id (no random provider offline).
  external_id = var.custom_external_id
  accounts    = concat([data.aws_caller_identity.current.account_id], var.account_id_safelist)
  secretsmgr  = contains(var.addons, "aws/secretsmgr") ? 1 : 0
  firehose    = contains(var.addons, "aws/kinesis-firehose") ? 1 : 0
  datastream  = contains(var.addons, "aws/kinesis-data-stream") ? 1 : 0
}

resource "aws_iam_role" "this" {
  name = local.role_name
  path = "/sym/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Action    = "sts:AssumeRole"
        Effect    = "Allow"
        Principal = { AWS = var.sym_account_ids }
        Condition = { StringEquals = { "sts:ExternalId" = local.external_id } }
      },
      {
        Action    = "sts:AssumeRole"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Condition = { StringEquals = { "aws:PrincipalArn" = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/sym/${local.role_name}" } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_policy" "assume_roles" {
  name        = local.role_name
  path        = "/sym/"
  description = "Base permissions for the Sym runtime"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Action   = "sts:AssumeRole"
      Effect   = "Allow"
      Resource = [for a in local.accounts : "arn:aws:iam::${a}:role/sym/*"]
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "assume_roles_attach" {
  policy_arn = aws_iam_policy.assume_roles.arn
  role       = aws_iam_role.this.name
}

resource "aws_iam_role_policy_attachment" "extra_policy_attachments" {
  for_each   = var.policy_arns
  policy_arn = each.value
  role       = aws_iam_role.this.name
}

module "aws_secretsmgr" {
  count       = local.secretsmgr
  source      = "../secretsmgr-addon-v1"
  environment = var.environment
  tag_name    = try(var.addon_params["aws/secretsmgr"]["tag_name"], "SymEnv")
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "aws_secretsmgr_attach" {
  count      = local.secretsmgr
  policy_arn = module.aws_secretsmgr[0].policy_arn
  role       = aws_iam_role.this.name
}

module "aws_kinesis_firehose" {
  count       = local.firehose
  source      = "../kinesis-firehose-addon-v1"
  environment = var.environment
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "aws_kinesis_firehose_attach" {
  count      = local.firehose
  policy_arn = module.aws_kinesis_firehose[0].policy_arn
  role       = aws_iam_role.this.name
}

module "aws_kinesis_data_stream" {
  count       = local.datastream
  source      = "../kinesis-data-stream-addon-v1"
  environment = var.environment
  stream_arns = var.addon_params["aws/kinesis-data-stream"]["stream_arns"]
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "aws_kinesis_data_stream_attach" {
  count      = local.datastream
  policy_arn = module.aws_kinesis_data_stream[0].policy_arn
  role       = aws_iam_role.this.name
}

output "account_id" { value = data.aws_caller_identity.current.account_id }
output "sym_runtime_connector_role" { value = aws_iam_role.this }
output "settings" {
  value = {
    cloud       = "aws"
    external_id = local.external_id
    region      = data.aws_region.current.name
    role_arn    = aws_iam_role.this.arn
  }
}

# runtime-connector v2.0.x: SymRuntime<Env> role and policy under /sym/,
# trusted by one account (sym_account_id) with the External ID, and the
# runtime's sym_integration and sym_runtime. Its environment input is
# environment_name (the v2.0.x README's generated inputs table), not v1's
# environment.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.0"
    }
    sym = {
      source  = "symopsio/sym"
      version = ">= 2.0"
    }
  }
}

variable "environment_name" { type = string }
variable "sym_account_id" {
  type    = string
  default = "803477428605"
}
variable "account_id_safelist" {
  type    = list(string)
  default = []
}
variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

# Stand-in for random_uuid.external_id (no random provider offline).
resource "terraform_data" "external_id" {
  input = uuid()
  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  role_name   = "SymRuntime${title(var.environment_name)}"
  external_id = terraform_data.external_id.output
  accounts    = concat([data.aws_caller_identity.current.account_id], var.account_id_safelist)
}

resource "aws_iam_role" "sym_runtime_connector_role" {
  name = local.role_name
  path = "/sym/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { AWS = var.sym_account_id }
      Condition = { StringEquals = { "sts:ExternalId" = local.external_id } }
    }]
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

resource "aws_iam_role_policy_attachment" "attach_assume_roles" {
  policy_arn = aws_iam_policy.assume_roles.arn
  role       = aws_iam_role.sym_runtime_connector_role.name
}

resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "${var.environment_name}-runtime-context"
  external_id = data.aws_caller_identity.current.account_id
  settings = {
    cloud       = "aws"
    external_id = local.external_id
    region      = data.aws_region.current.name
    role_arn    = aws_iam_role.sym_runtime_connector_role.arn
  }
}

resource "sym_runtime" "this" {
  name       = var.environment_name
  context_id = sym_integration.runtime_context.id
}

output "sym_runtime_connector_role" { value = aws_iam_role.sym_runtime_connector_role }
output "sym_integration" { value = sym_integration.runtime_context }
output "sym_runtime" { value = sym_runtime.this }

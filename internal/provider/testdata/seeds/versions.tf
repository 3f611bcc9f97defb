# The snippets of the AWS IAM access strategy guide and the AWS IAM quickstart
# (../shared/seeds/003_* and 004_*), filled in with concrete values. Written
# for the original provider: source = "symopsio/sym", api_url and token from
# SYM_API_URL and SYM_JWT.
terraform {
  required_version = ">= 1.5"
  required_providers {
    sym = {
      source  = "symopsio/sym"
      version = ">= 0.1.0"
    }
  }
}

provider "sym" {
  org = var.sym_org
}

variable "sym_org" {
  type    = string
  default = "default"
}

locals {
  environment_name = "prod"
  account_id       = "123456789012"

  # What module.runtime_connector.settings would answer.
  runtime_settings = {
    cloud       = "aws"
    region      = "us-east-1"
    role_arn    = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    external_id = "4d3f1a52-8a8e-4f7c-9d37-0f1e2b3c4d5e"
    account_id  = local.account_id
  }

  # What module.iam_connector.settings would answer.
  iam_connector_settings = {
    cloud      = "aws"
    region     = "us-east-1"
    role_arn   = "arn:aws:iam::123456789012:role/sym/SymIAMProd"
    account_id = local.account_id
  }
}

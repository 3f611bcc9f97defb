# The AWS side lives in ./modules/role so that it can be applied, tested and
# verified without a sym server; this module adds the platform entities.

locals {
  # environment_name is the original v2 module's name for the input.
  environment = var.environment != "" ? var.environment : var.environment_name
}

module "role" {
  source = "./modules/role"

  environment            = local.environment
  account_id_safelist    = var.account_id_safelist
  addons                 = var.addons
  addon_params           = var.addon_params
  custom_external_id     = var.custom_external_id
  policy_arns            = var.policy_arns
  sym_account_ids        = distinct(concat(var.sym_account_ids, var.sym_account_id == "" ? [] : [var.sym_account_id]))
  trusted_principal_arns = var.trusted_principal_arns
  tags                   = var.tags
}

resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "${local.environment}-runtime-context"
  label       = "Runtime context (${local.environment})"
  external_id = module.role.account_id
  settings    = module.role.settings

  lifecycle {
    precondition {
      condition     = var.environment == "" || var.environment_name == "" || var.environment == var.environment_name
      error_message = "environment and environment_name (the original v2 module's name for environment) are set to different values: set only one of them."
    }
  }
}

resource "sym_runtime" "this" {
  name       = local.environment
  label      = "Runtime (${local.environment})"
  context_id = sym_integration.runtime_context.id
}

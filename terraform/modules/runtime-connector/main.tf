# The AWS side lives in ./modules/role so that it can be applied, tested and
# verified without a sym server; this module adds the platform entities.
module "role" {
  source = "./modules/role"

  environment            = var.environment
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
  name        = "${var.environment}-runtime-context"
  label       = "Runtime context (${var.environment})"
  external_id = module.role.account_id
  settings    = module.role.settings
}

resource "sym_runtime" "this" {
  name       = var.environment
  label      = "Runtime (${var.environment})"
  context_id = sym_integration.runtime_context.id
}

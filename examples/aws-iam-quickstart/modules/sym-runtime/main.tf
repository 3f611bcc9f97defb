# The shared runtime of one environment: every flow of the environment runs
# through it.

# The runtime connector: the role /sym/SymRuntime<Env> in this account that
# sym server assumes first, with an External ID, and from which it may only
# assume other /sym/ roles. It also declares the runtime's permission context
# (sym_integration) and the sym_runtime.
module "runtime_connector" {
  source = "../../../../terraform/modules/runtime-connector"

  environment            = var.environment
  trusted_principal_arns = var.trusted_principal_arns
  account_id_safelist    = var.account_id_safelist

  # Lets the runtime read Secrets Manager secrets tagged <tag>=<environment>,
  # and nothing else in Secrets Manager.
  addons = ["aws/secretsmgr"]
  addon_params = {
    "aws/secretsmgr" = { tag_name = var.secrets_tag_name }
  }

  tags = var.tags
}

resource "sym_environment" "this" {
  name       = var.environment
  label      = title(var.environment)
  runtime_id = module.runtime_connector.sym_runtime.id
}

# Secrets for flows come from Secrets Manager, read with the runtime's
# permission context: only secrets tagged SymEnv=<environment> are readable.
resource "sym_secrets" "this" {
  type  = "aws_secrets_manager"
  name  = "${var.environment}-secrets"
  label = "Secrets Manager (${var.environment})"

  settings = {
    context_id = module.runtime_connector.sym_integration.id
  }
}

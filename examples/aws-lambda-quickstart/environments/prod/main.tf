# The prod environment: one sym runtime and the flow that calls your Lambda
# functions to grant and take away access. Copy this directory to add an
# environment (sandbox, staging) and change environment_name.

locals {
  environment_name = "prod"
}

# The runtime connector: the role /sym/SymRuntime<Env> that sym server
# assumes first, with an External ID, and from which it may only assume
# other /sym/ roles. It also declares the runtime's permission context and
# the sym_runtime.
module "runtime_connector" {
  source = "../../../../terraform/modules/runtime-connector"

  environment            = local.environment_name
  trusted_principal_arns = var.runtime_trusted_principal_arns
  account_id_safelist    = var.account_id_safelist
  tags                   = var.tags
}

resource "sym_environment" "this" {
  name       = local.environment_name
  label      = title(local.environment_name)
  runtime_id = module.runtime_connector.sym_runtime.id
}

# The flow engineers request access with, and the Lambda connector role
# that lets the runtime invoke the functions below, and nothing else.
module "aws_lambda_flow" {
  source = "../../modules/aws-lambda-flow"

  environment      = local.environment_name
  environment_id   = sym_environment.this.id
  runtime_role_arn = module.runtime_connector.sym_runtime_connector_role.arn
  targets          = var.targets

  approvers           = var.approvers
  allow_self_approval = var.allow_self_approval
  durations           = var.durations
  tags                = var.tags
}

# The IAM Identity Center access flow: requesters pick a target (a
# permission set in an account), give a reason and a duration; once
# approved, sym assigns the permission set to their identity-store user and
# removes the assignment when the duration ends or the access is revoked.

locals {
  targets = { for t in var.targets : t.name => t }
}

# The SSO connector: the role /sym/SymSSO<Env> the runtime chains into (no
# External ID on this hop: only the runtime connector role may assume it).
module "sso_connector" {
  source = "../../../../terraform/modules/sso-connector"

  environment       = var.environment
  runtime_role_arns = [var.runtime_role_arn]
  instance_arn      = var.instance_arn
  tags              = var.tags
}

# The permission context: tells the runtime which role to chain into.
resource "sym_integration" "sso_context" {
  type        = "permission_context"
  name        = "${var.environment}-sso-context"
  label       = "IAM Identity Center (${var.environment})"
  external_id = module.sso_connector.settings.account_id
  settings    = module.sso_connector.settings
}

# One target per permission set and account a requester may ask for.
resource "sym_target" "this" {
  for_each = local.targets

  type  = "aws_sso_permission_set"
  name  = each.key
  label = each.value.label

  settings = {
    permission_set_arn = each.value.permission_set_arn
    account_id         = each.value.account_id
  }
}

resource "sym_strategy" "aws_sso" {
  type           = "aws_sso"
  name           = "${var.environment}-aws-sso"
  label          = "IAM Identity Center (${var.environment})"
  integration_id = sym_integration.sso_context.id
  targets        = [for name in sort(keys(local.targets)) : sym_target.this[name].id]

  settings = {
    instance_arn = module.sso_connector.settings.instance_arn
  }
}

resource "sym_flow" "this" {
  name           = var.flow_name != "" ? var.flow_name : "${var.environment}-sso-access"
  label          = var.flow_label
  environment_id = var.environment_id
  implementation = file("${path.module}/impl.py")

  # sym server applies these itself; impl.py says the same in flow code.
  vars = { for k, v in {
    approvers           = join(",", var.approvers)
    allow_self_approval = tostring(var.allow_self_approval)
  } : k => v if v != "" }

  params {
    strategy_id = sym_strategy.aws_sso.id

    allow_revoke          = true
    schedule_deescalation = true

    prompt_field {
      name     = "reason"
      label    = "Why do you need access?"
      type     = "string"
      required = true
    }

    prompt_field {
      name           = "duration"
      label          = "For how long?"
      type           = "duration"
      required       = true
      default        = var.durations[0]
      allowed_values = var.durations
    }
  }
}

# The AWS IAM access flow: requesters pick a target (an IAM group), give a
# reason and a duration; once approved, sym adds their IAM user to the group
# and removes it when the duration ends or the access is revoked.

locals {
  targets = { for t in var.targets : t.group_name => t }
}

# The IAM connector: the role /sym/SymIAM<Env> the runtime chains into (no
# External ID on this hop: only the runtime connector role may assume it).
# It may add users to, and remove them from, exactly the groups listed here.
module "iam_connector" {
  source = "../../../../terraform/modules/iam-connector"

  environment       = var.environment
  runtime_role_arns = [var.runtime_role_arn]
  group_config      = [for t in var.targets : { path = var.group_path, name = t.group_name }]
  tags              = var.tags
}

# The permission context: tells the runtime which role to chain into to
# manage the groups.
resource "sym_integration" "iam_context" {
  type        = "permission_context"
  name        = "${var.environment}-iam-context"
  label       = "AWS IAM (${var.environment})"
  external_id = module.iam_connector.settings.account_id
  settings    = module.iam_connector.settings
}

# One target per IAM group a requester may ask to join.
resource "sym_target" "this" {
  for_each = local.targets

  type  = "aws_iam_group"
  name  = each.key
  label = each.value.label

  settings = {
    iam_group = each.key
  }
}

resource "sym_strategy" "aws_iam" {
  type           = "aws_iam"
  name           = "${var.environment}-aws-iam"
  label          = "AWS IAM groups (${var.environment})"
  integration_id = sym_integration.iam_context.id
  targets        = [for name in sort(keys(local.targets)) : sym_target.this[name].id]
}

resource "sym_flow" "this" {
  name           = var.flow_name != "" ? var.flow_name : "${var.environment}-iam-access"
  label          = var.flow_label
  environment_id = var.environment_id
  implementation = file("${path.module}/impl.py")

  # sym server applies these itself; impl.py says the same in flow code.
  vars = { for k, v in {
    approvers           = join(",", var.approvers)
    allow_self_approval = tostring(var.allow_self_approval)
    max_duration        = var.max_duration
    request_timeout     = var.request_timeout
  } : k => v if v != "" }

  params {
    strategy_id = sym_strategy.aws_iam.id

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

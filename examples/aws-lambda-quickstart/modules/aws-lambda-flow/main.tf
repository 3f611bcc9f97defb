# The Lambda access flow: requesters pick a target (a function), give a
# reason and a duration; once approved, sym invokes the function with an
# escalate event, and with a deescalate event when the duration ends or the
# access is revoked. The function does the granting.

locals {
  targets = { for t in var.targets : t.name => t }
}

# The Lambda connector: the role /sym/SymLambda<Env> the runtime chains
# into; it may invoke the targets' functions and nothing else.
module "lambda_connector" {
  source = "../../../../terraform/modules/lambda-connector"

  environment       = var.environment
  runtime_role_arns = [var.runtime_role_arn]
  lambda_arns       = [for t in var.targets : t.arn]
  tags              = var.tags
}

resource "sym_integration" "lambda_context" {
  type        = "permission_context"
  name        = "${var.environment}-lambda-context"
  label       = "AWS Lambda (${var.environment})"
  external_id = module.lambda_connector.settings.account_id
  settings    = module.lambda_connector.settings
}

# One target per function a requester may ask for.
resource "sym_target" "this" {
  for_each = local.targets

  type  = "aws_lambda_function"
  name  = each.key
  label = each.value.label

  settings = {
    arn = each.value.arn
  }
}

resource "sym_strategy" "aws_lambda" {
  type           = "aws_lambda"
  name           = "${var.environment}-aws-lambda"
  label          = "AWS Lambda (${var.environment})"
  integration_id = sym_integration.lambda_context.id
  targets        = [for name in sort(keys(local.targets)) : sym_target.this[name].id]
}

resource "sym_flow" "this" {
  name           = var.flow_name != "" ? var.flow_name : "${var.environment}-lambda-access"
  label          = var.flow_label
  environment_id = var.environment_id
  implementation = file("${path.module}/impl.py")

  # sym server applies these itself; impl.py says the same in flow code.
  vars = { for k, v in {
    approvers           = join(",", var.approvers)
    allow_self_approval = tostring(var.allow_self_approval)
  } : k => v if v != "" }

  params {
    strategy_id = sym_strategy.aws_lambda.id

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

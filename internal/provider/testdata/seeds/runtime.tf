# The quickstart's sym-runtime module: one runtime shared by every flow.

resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "${local.environment_name}-runtime-context"
  external_id = local.account_id
  settings    = local.runtime_settings
}

resource "sym_runtime" "this" {
  name       = local.environment_name
  context_id = sym_integration.runtime_context.id
}

resource "sym_integration" "slack" {
  type        = "slack"
  name        = "${local.environment_name}-slack"
  external_id = "T0123456789"
}

resource "sym_error_logger" "slack" {
  integration_id = sym_integration.slack.id
  destination    = "#sym-errors"
}

resource "sym_environment" "this" {
  name            = local.environment_name
  runtime_id      = sym_runtime.this.id
  error_logger_id = sym_error_logger.slack.id

  integrations = {
    slack_id = sym_integration.slack.id
  }
}

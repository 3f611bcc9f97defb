resource "sym_environment" "prod" {
  name            = "prod"
  label           = "Production"
  runtime_id      = sym_runtime.prod.id
  error_logger_id = sym_error_logger.slack.id

  integrations = {
    slack_id = sym_integration.slack.id
  }

  log_destination_ids = [sym_log_destination.audit.id]
}

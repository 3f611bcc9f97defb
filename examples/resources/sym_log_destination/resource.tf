resource "sym_log_destination" "audit" {
  type           = "kinesis_firehose"
  integration_id = sym_integration.runtime_context.id

  settings = {
    stream_name = "sym-audit-prod"
  }
}

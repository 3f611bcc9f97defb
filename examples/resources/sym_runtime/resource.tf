resource "sym_runtime" "prod" {
  name       = "prod"
  context_id = sym_integration.runtime_context.id
}

resource "sym_secrets" "main" {
  type = "aws_secrets_manager"
  name = "main"

  settings = {
    context_id = sym_integration.runtime_context.id
  }
}

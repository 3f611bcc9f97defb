data "sym_secrets" "main" {
  type = "aws_secrets_manager"
  name = "main"
}

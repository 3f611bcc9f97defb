data "sym_integration" "slack" {
  type = "slack"
  name = "prod-slack"
}

data "sym_environment" "prod" {
  name = "prod"
}

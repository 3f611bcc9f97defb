data "sym_runtime" "prod" {
  name = "prod"
}

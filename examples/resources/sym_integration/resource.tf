# The permission context of the IAM connector role (AWS IAM strategy).
resource "sym_integration" "iam_context" {
  type        = "permission_context"
  name        = "main-iam"
  external_id = "123456789012"

  settings = {
    cloud      = "aws"
    region     = "us-east-1"
    role_arn   = "arn:aws:iam::123456789012:role/sym/SymIAMProd"
    account_id = "123456789012"
  }
}

resource "sym_integration" "slack" {
  type        = "slack"
  name        = "prod-slack"
  external_id = "T0123456789"
}

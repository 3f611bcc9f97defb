# The permission context of the runtime connector role, which a sym_runtime,
# a sym_secrets source and AWS log destinations name (the runtime-connector
# module declares it from the role it makes; its settings carry the External ID).
resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "prod-runtime-context"
  external_id = "123456789012"

  settings = {
    cloud       = "aws"
    region      = "us-east-1"
    role_arn    = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    external_id = "8c4f2a7e-0d1b-4e5a-9f36-2b7d1c0e9a54"
    account_id  = "123456789012"
  }
}

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

# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment       = "prod"
  runtime_role_arns = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"]
  lambda_arns       = ["arn:aws:lambda:us-east-1:123456789012:function:sym-grant", "arn:aws:lambda:us-east-1:123456789012:function:sym-revoke"]
  tags              = { Team = "security" }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    iam = var.aws_endpoint
    sts = var.aws_endpoint
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    environment       = "prod env"
    runtime_role_arns = ["arn:aws:iam::123:role/short-account"]
    lambda_arns       = ["sym-grant"]
  }

  expect_failures = [var.environment, var.runtime_role_arns, var.lambda_arns]
}

run "creates_a_role_that_only_invokes_the_listed_functions" {
  assert {
    condition     = aws_iam_role.this.arn == "arn:aws:iam::123456789012:role/sym/SymLambdaProd"
    error_message = "The role must be /sym/SymLambdaProd, got ${aws_iam_role.this.arn}."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Sid       = "RuntimeConnectorMayAssume"
      Effect    = "Allow"
      Action    = ["sts:AssumeRole"]
      Principal = { AWS = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"] }
    }]
    error_message = "Only the runtime connector role may assume the Lambda connector, without conditions: ${aws_iam_role.this.assume_role_policy}"
  }
  assert {
    condition     = aws_iam_policy.this.name == "SymLambdaProd" && aws_iam_policy.this.path == "/sym/"
    error_message = "The policy must be /sym/SymLambdaProd."
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement == [{
      Sid      = "InvokeConfiguredFunctions"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = ["arn:aws:lambda:us-east-1:123456789012:function:sym-grant", "arn:aws:lambda:us-east-1:123456789012:function:sym-revoke"]
    }]
    error_message = "The policy must allow lambda:InvokeFunction on the listed functions and nothing else: ${aws_iam_policy.this.policy}"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.this.role == aws_iam_role.this.name && aws_iam_role_policy_attachment.this.policy_arn == aws_iam_policy.this.arn
    error_message = "The policy must be attached to the role."
  }
  assert {
    condition     = aws_iam_role.this.tags == tomap({ Team = "security" }) && aws_iam_policy.this.tags == tomap({ Team = "security" })
    error_message = "The role and the policy must carry the given tags."
  }
  assert {
    condition     = output.settings == { cloud = "aws", region = "us-east-1", role_arn = aws_iam_role.this.arn, account_id = "123456789012" }
    error_message = "Unexpected settings output: ${jsonencode(output.settings)}"
  }
}

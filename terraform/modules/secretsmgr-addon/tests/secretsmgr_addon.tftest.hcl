# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment = "prod"
  tags        = { Team = "security" }
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
    environment   = "-prod"
    role_name     = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    tag_name      = "Sym Env"
    iam_role_name = "role/SymRuntimeProd"
  }

  expect_failures = [var.environment, var.role_name, var.tag_name, var.iam_role_name]
}

run "iam_role_name_is_the_originals_role_name" {
  command = plan

  variables {
    iam_role_name = "SymRuntimeProd"
  }

  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 1 && aws_iam_role_policy_attachment.this[0].role == "SymRuntimeProd"
    error_message = "iam_role_name (the original's input) must attach the policy to that role."
  }
}

run "role" {
  module {
    source = "../testing/role"
  }

  variables {
    name = "SymRuntimeProd"
  }
}

run "reads_only_secrets_tagged_for_the_environment" {
  variables {
    role_name = run.role.name
    tag_name  = "SymEnvironment"
  }

  assert {
    condition     = aws_iam_policy.this.arn == "arn:aws:iam::123456789012:policy/sym/SymSecretsManagerProd"
    error_message = "The policy must be /sym/SymSecretsManagerProd, got ${aws_iam_policy.this.arn}."
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement == [{
      Sid       = "ReadSecretsTaggedForThisEnvironment"
      Effect    = "Allow"
      Action    = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      Resource  = ["arn:aws:secretsmanager:*:123456789012:secret:*"]
      Condition = { StringEquals = { "aws:ResourceTag/SymEnvironment" = "prod" } }
    }]
    error_message = "Secrets must be readable only when tagged SymEnvironment=prod: ${aws_iam_policy.this.policy}"
  }
  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 1 && aws_iam_role_policy_attachment.this[0].role == "SymRuntimeProd" && aws_iam_role_policy_attachment.this[0].policy_arn == aws_iam_policy.this.arn
    error_message = "Given role_name, the policy must be attached to that role."
  }
  assert {
    condition     = aws_iam_policy.this.tags == tomap({ Team = "security" })
    error_message = "The policy must carry the given tags."
  }
}

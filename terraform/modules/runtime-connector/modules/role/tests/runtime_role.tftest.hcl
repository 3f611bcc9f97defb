# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment         = "prod"
  account_id_safelist = ["111122223333"]
  addons              = ["aws/secretsmgr", "aws/kinesis-firehose", "aws/kinesis-data-stream"]
  addon_params = {
    "aws/kinesis-data-stream" = { stream_arns = ["arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit"] }
  }
  tags = { Team = "security" }
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
    environment            = "Prod"
    account_id_safelist    = ["1111-2222-3333"]
    addons                 = ["aws/s3"]
    addon_params           = { "aws/sqs" = {} }
    custom_external_id     = "has spaces"
    policy_arns            = { x = "ReadOnlyAccess" }
    sym_account_ids        = ["80347742860"]
    trusted_principal_arns = ["sym-server"]
  }

  expect_failures = [
    var.environment, var.account_id_safelist, var.addons, var.addon_params,
    var.custom_external_id, var.policy_arns, var.sym_account_ids, var.trusted_principal_arns,
  ]
}

run "rejects_principals_and_accounts_together" {
  command = plan

  variables {
    sym_account_ids        = ["210987654321"]
    trusted_principal_arns = ["arn:aws:iam::123456789012:role/sym-server"]
  }

  expect_failures = [aws_iam_role.this]
}

run "fixture" {
  module {
    source = "../../../testing/role"
  }

  variables {
    name = "Fixture"
  }
}

run "creates_the_runtime_role" {
  variables {
    policy_arns = { audit = run.fixture.policy_arn }
  }

  assert {
    condition     = aws_iam_role.this.arn == "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    error_message = "The role must be /sym/SymRuntimeProd, got ${aws_iam_role.this.arn}."
  }
  assert {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", output.external_id))
    error_message = "A blank custom_external_id must generate a UUID, got ${output.external_id}."
  }
  # Trust: the current account root only, and only with the External ID.
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Sid       = "SymServerMayAssumeWithExternalId"
      Effect    = "Allow"
      Action    = ["sts:AssumeRole"]
      Principal = { AWS = ["arn:aws:iam::123456789012:root"] }
      Condition = { StringEquals = { "sts:ExternalId" = output.external_id } }
    }]
    error_message = "Unexpected trust policy: ${aws_iam_role.this.assume_role_policy}"
  }
  # Assume-roles: /sym/ roles in the current account and the safelist, nothing else.
  assert {
    condition     = aws_iam_policy.assume_roles.name == "SymRuntimeProd" && aws_iam_policy.assume_roles.path == "/sym/"
    error_message = "The assume-roles policy must be /sym/SymRuntimeProd."
  }
  assert {
    condition = jsondecode(aws_iam_policy.assume_roles.policy).Statement == [{
      Sid      = "AssumeSymRolesInAllowedAccounts"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = ["arn:aws:iam::123456789012:role/sym/*", "arn:aws:iam::111122223333:role/sym/*"]
    }]
    error_message = "Unexpected assume-roles policy: ${aws_iam_policy.assume_roles.policy}"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.assume_roles.role == "SymRuntimeProd" && aws_iam_role_policy_attachment.assume_roles.policy_arn == aws_iam_policy.assume_roles.arn
    error_message = "The assume-roles policy must be attached to the role."
  }
  # Addons: one /sym/ policy each, attached, conditioned on aws:ResourceTag/SymEnv.
  assert {
    condition = output.addon_policy_arns == tomap({
      "aws/secretsmgr"          = "arn:aws:iam::123456789012:policy/sym/SymSecretsManagerProd"
      "aws/kinesis-firehose"    = "arn:aws:iam::123456789012:policy/sym/SymKinesisFirehoseProd"
      "aws/kinesis-data-stream" = "arn:aws:iam::123456789012:policy/sym/SymKinesisDataStreamProd"
    })
    error_message = "Unexpected addon policies: ${jsonencode(output.addon_policy_arns)}"
  }
  assert {
    condition     = jsondecode(module.secretsmgr[0].policy.policy).Statement[0].Condition == { StringEquals = { "aws:ResourceTag/SymEnv" = "prod" } }
    error_message = "Secrets must be readable only when tagged SymEnv=prod."
  }
  assert {
    condition     = jsondecode(module.kinesis_firehose[0].policy.policy).Statement[0].Condition == { StringEquals = { "aws:ResourceTag/SymEnv" = "prod" } }
    error_message = "Firehose writes must be conditioned on aws:ResourceTag/SymEnv=prod."
  }
  assert {
    condition     = jsondecode(module.kinesis_data_stream[0].policy.policy).Statement[0].Resource == ["arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit"]
    error_message = "Data stream writes must be limited to the stream_arns given in addon_params."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.extra["audit"].policy_arn == "arn:aws:iam::123456789012:policy/test/FixtureExtra" && aws_iam_role_policy_attachment.extra["audit"].role == "SymRuntimeProd"
    error_message = "policy_arns must be attached to the role."
  }
  assert {
    condition = alltrue([for t in [aws_iam_role.this.tags, aws_iam_policy.assume_roles.tags, module.secretsmgr[0].policy.tags,
    module.kinesis_firehose[0].policy.tags, module.kinesis_data_stream[0].policy.tags] : t == tomap({ Team = "security" })])
    error_message = "The role and every policy must carry the given tags."
  }
  assert {
    condition = output.settings == {
      cloud               = "aws"
      region              = "us-east-1"
      role_arn            = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
      external_id         = output.external_id
      account_id          = "123456789012"
      account_id_safelist = "111122223333"
      trusted_principals  = "arn:aws:iam::123456789012:root"
      policy_arns         = run.fixture.policy_arn
      addons              = "aws/kinesis-data-stream,aws/kinesis-firehose,aws/secretsmgr"
    }
    error_message = "Unexpected settings: ${jsonencode(output.settings)}"
  }
}

run "narrows_trust_to_exact_principals_and_keeps_the_external_id" {
  variables {
    trusted_principal_arns = ["arn:aws:iam::123456789012:role/sym-server", "arn:aws:iam::123456789012:user/ops"]
    policy_arns            = { audit = run.fixture.policy_arn }
  }

  assert {
    condition     = output.external_id == run.creates_the_runtime_role.external_id
    error_message = "The generated External ID must survive later applies (${run.creates_the_runtime_role.external_id} became ${output.external_id})."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal == { AWS = ["arn:aws:iam::123456789012:role/sym-server", "arn:aws:iam::123456789012:user/ops"] }
    error_message = "With trusted_principal_arns the trust policy must name exactly those principals and no account root: ${aws_iam_role.this.assume_role_policy}"
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition == { StringEquals = { "sts:ExternalId" = output.external_id } }
    error_message = "The External ID condition must stay."
  }
}

run "uses_a_custom_external_id_and_sym_accounts" {
  command = plan

  variables {
    custom_external_id = "customer-chosen-id"
    sym_account_ids    = ["210987654321"]
  }

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0] == {
      Sid       = "SymServerMayAssumeWithExternalId"
      Effect    = "Allow"
      Action    = ["sts:AssumeRole"]
      Principal = { AWS = ["arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:root"] }
      Condition = { StringEquals = { "sts:ExternalId" = "customer-chosen-id" } }
    }
    error_message = "custom_external_id must replace the generated one, and sym_account_ids add their roots to the current account's."
  }
  assert {
    condition     = output.settings.external_id == "customer-chosen-id"
    error_message = "The settings must carry the custom External ID."
  }
}

# Run by internal/connector's Go tests against a fresh moto_server and a
# temporary sym server (SYM_API_URL, SYM_JWT in the environment):
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# The AWS side is asserted field by field in modules/role/tests.

variables {
  environment         = "staging"
  account_id_safelist = ["111122223333", "444455556666"]
  addons              = ["aws/secretsmgr"]
  tags                = { Team = "security" }
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

provider "sym" {
  org = "default"
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    environment         = "Staging!"
    account_id_safelist = ["11112222333"]
    addons              = ["aws/secretsmanager"]
    sym_account_id      = "80347742860"
  }

  expect_failures = [var.environment, var.account_id_safelist, var.addons, var.sym_account_id]
}

# The original's default, the vendor's production account: it knows the
# External ID a migrating team keeps (docs/migrating.md steps 3 and 4).
run "refuses_the_original_vendors_account" {
  command = plan

  variables {
    sym_account_id         = "803477428605"
    sym_account_ids        = ["803477428605"]
    trusted_principal_arns = ["arn:aws:iam::123456789012:role/sym-server", "arn:aws:iam::803477428605:root"]
  }

  expect_failures = [var.sym_account_id, var.sym_account_ids, var.trusted_principal_arns]
}

run "sym_account_id_is_one_more_trusted_account" {
  command = plan

  variables {
    sym_account_id  = "210987654321"
    sym_account_ids = ["444455556666"]
  }

  assert {
    condition     = output.settings.trusted_principals == "arn:aws:iam::123456789012:root,arn:aws:iam::444455556666:root,arn:aws:iam::210987654321:root"
    error_message = "sym_account_id (the original v2 input) and sym_account_ids must both be trusted, beside the current account; got ${output.settings.trusted_principals}."
  }
}

run "environment_name_is_the_original_v2_input" {
  command = plan

  variables {
    environment      = ""
    environment_name = "staging"
  }

  assert {
    condition     = output.sym_runtime_connector_role.name == "SymRuntimeStaging" && sym_runtime.this.name == "staging" && sym_integration.runtime_context.name == "staging-runtime-context"
    error_message = "environment_name (the original v2 input) must name the role, the runtime and its integration as environment does."
  }
}

# The original accepted environments such as prod_us; Terraform's title()
# leaves the letter after "_" as it is.
run "underscores_in_the_environment" {
  command = plan

  variables {
    environment = "prod_us"
  }

  assert {
    condition     = output.sym_runtime_connector_role.name == "SymRuntimeProd_us" && sym_runtime.this.name == "prod_us"
    error_message = "an environment with an underscore must name the role SymRuntimeProd_us and the runtime prod_us."
  }
}

run "environment_and_environment_name_must_agree" {
  command = plan

  variables {
    environment_name = "prod"
  }

  expect_failures = [sym_integration.runtime_context]
}

run "registers_the_runtime_with_sym" {
  assert {
    condition     = output.sym_runtime_connector_role.arn == "arn:aws:iam::123456789012:role/sym/SymRuntimeStaging"
    error_message = "The role must be /sym/SymRuntimeStaging, got ${output.sym_runtime_connector_role.arn}."
  }
  assert {
    condition     = jsondecode(output.sym_runtime_connector_role.assume_role_policy).Statement[0].Condition == { StringEquals = { "sts:ExternalId" = output.settings.external_id } }
    error_message = "The trust policy must require the External ID that the settings carry."
  }
  assert {
    condition = output.settings == {
      cloud               = "aws"
      region              = "us-east-1"
      role_arn            = "arn:aws:iam::123456789012:role/sym/SymRuntimeStaging"
      external_id         = output.settings.external_id
      account_id          = "123456789012"
      account_id_safelist = "111122223333,444455556666"
      trusted_principals  = "arn:aws:iam::123456789012:root"
      policy_arns         = ""
      addons              = "aws/secretsmgr"
    }
    error_message = "Unexpected settings: ${jsonencode(output.settings)}"
  }
  assert {
    condition     = output.account_id == "123456789012"
    error_message = "account_id must be the current account."
  }
  assert {
    condition     = sym_integration.runtime_context.type == "permission_context" && sym_integration.runtime_context.name == "staging-runtime-context"
    error_message = "The runtime context must be a permission_context integration named staging-runtime-context."
  }
  assert {
    condition     = sym_integration.runtime_context.external_id == "123456789012"
    error_message = "The integration's external_id must be the AWS account id."
  }
  assert {
    condition     = sym_integration.runtime_context.settings == tomap(output.settings)
    error_message = "The integration must carry the settings output: ${jsonencode(sym_integration.runtime_context.settings)}"
  }
  assert {
    condition     = output.sym_integration.id == sym_integration.runtime_context.id && sym_integration.runtime_context.id != ""
    error_message = "The sym_integration output must be the created integration."
  }
  assert {
    condition     = sym_runtime.this.name == "staging" && sym_runtime.this.context_id == sym_integration.runtime_context.id
    error_message = "The runtime must be named after the environment and use the runtime context."
  }
  assert {
    condition     = output.sym_runtime.id == sym_runtime.this.id && sym_runtime.this.id != ""
    error_message = "The sym_runtime output must be the created runtime."
  }
}

# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment       = "prod"
  runtime_role_arns = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"]
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
    iam      = var.aws_endpoint
    sts      = var.aws_endpoint
    ssoadmin = var.aws_endpoint
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    environment       = "Prod"
    runtime_role_arns = []
    instance_arn      = "ssoins-1234"
  }

  expect_failures = [var.environment, var.runtime_role_arns, var.instance_arn]
}

run "creates_the_role_and_its_four_policies" {
  assert {
    condition     = aws_iam_role.this.arn == "arn:aws:iam::123456789012:role/sym/SymSSOProd"
    error_message = "The role must be /sym/SymSSOProd, got ${aws_iam_role.this.arn}."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Sid       = "RuntimeConnectorMayAssume"
      Effect    = "Allow"
      Action    = ["sts:AssumeRole"]
      Principal = { AWS = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"] }
    }]
    error_message = "Only the runtime connector role may assume the SSO connector, without conditions: ${aws_iam_role.this.assume_role_policy}"
  }
  assert {
    condition = [for p in [aws_iam_policy.sso, aws_iam_policy.sso_group, aws_iam_policy.list_accounts, aws_iam_policy.sso_account[0]] : "${p.path}${p.name}"] == [
      "/sym/SymSSOProd", "/sym/SymSSOGroupProd", "/sym/SymListAccountsProd", "/sym/SymSSOProd-Account",
    ]
    error_message = "The policies must be /sym/SymSSOProd, /sym/SymSSOGroupProd, /sym/SymListAccountsProd and /sym/SymSSOProd-Account."
  }
  assert {
    condition = jsondecode(aws_iam_policy.sso.policy).Statement == [
      {
        Sid      = "ManageAccountAssignments"
        Effect   = "Allow"
        Action   = ["sso:CreateAccountAssignment", "sso:DeleteAccountAssignment", "sso:Describe*", "sso:List*"]
        Resource = ["*"]
      },
      {
        Sid      = "FindUsers"
        Effect   = "Allow"
        Action   = ["identitystore:DescribeUser", "identitystore:GetUserId", "identitystore:ListUsers"]
        Resource = ["*"]
      },
    ]
    error_message = "Unexpected SymSSOProd policy: ${aws_iam_policy.sso.policy}"
  }
  assert {
    condition = jsondecode(aws_iam_policy.sso_group.policy).Statement[0] == {
      Sid      = "ManageGroupMemberships"
      Effect   = "Allow"
      Action   = ["identitystore:CreateGroupMembership", "identitystore:DeleteGroupMembership"]
      Resource = ["*"]
    } && alltrue([for a in jsondecode(aws_iam_policy.sso_group.policy).Statement[1].Action : can(regex("^identitystore:(Describe|Get|Is|List)", a))])
    error_message = "SymSSOGroupProd must write group memberships and only read the rest: ${aws_iam_policy.sso_group.policy}"
  }
  assert {
    condition = jsondecode(aws_iam_policy.list_accounts.policy).Statement == [{
      Sid      = "ListAccounts"
      Effect   = "Allow"
      Action   = ["organizations:ListAccounts", "organizations:ListAccountsForParent"]
      Resource = ["*"]
    }]
    error_message = "Unexpected SymListAccountsProd policy: ${aws_iam_policy.list_accounts.policy}"
  }
  assert {
    condition = [for s in jsondecode(aws_iam_policy.sso_account[0].policy).Statement : s.Resource] == [
      ["arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*"], ["arn:aws:iam::*:saml-provider/AWSSSO_*"],
    ]
    error_message = "SymSSOProd-Account must touch only the Identity Center roles and SAML provider: ${aws_iam_policy.sso_account[0].policy}"
  }
  assert {
    condition = toset([aws_iam_role_policy_attachment.sso.policy_arn, aws_iam_role_policy_attachment.sso_group.policy_arn,
      aws_iam_role_policy_attachment.list_accounts.policy_arn, aws_iam_role_policy_attachment.sso_account[0].policy_arn]) == toset([
      aws_iam_policy.sso.arn, aws_iam_policy.sso_group.arn, aws_iam_policy.list_accounts.arn, aws_iam_policy.sso_account[0].arn,
    ])
    error_message = "Every policy must be attached to the role."
  }
  assert {
    condition     = aws_iam_role.this.tags == tomap({ Team = "security" }) && aws_iam_policy.sso.tags == tomap({ Team = "security" })
    error_message = "The role and the policies must carry the given tags."
  }
  assert {
    condition     = can(regex("^arn:aws:sso:::instance/ssoins-[a-z0-9]{16}$", output.settings.instance_arn))
    error_message = "Without instance_arn the module must find the account's instance, got ${output.settings.instance_arn}."
  }
  assert {
    condition = output.settings == {
      cloud        = "aws", region = "us-east-1", role_arn = aws_iam_role.this.arn, account_id = "123456789012",
      instance_arn = output.settings.instance_arn
    }
    error_message = "Unexpected settings output: ${jsonencode(output.settings)}"
  }
}

run "account_assignment_policy_is_optional_and_the_instance_can_be_named" {
  variables {
    sso_account_assignment_enabled = false
    instance_arn                   = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
  }
  assert {
    condition     = length(aws_iam_policy.sso_account) == 0 && length(aws_iam_role_policy_attachment.sso_account) == 0
    error_message = "With sso_account_assignment_enabled = false there must be no SymSSOProd-Account policy."
  }
  assert {
    condition     = output.settings.instance_arn == "arn:aws:sso:::instance/ssoins-0123456789abcdef" && !contains(keys(output.policies), "sso_account")
    error_message = "The named instance must be in the settings: ${jsonencode(output.settings)}"
  }
}

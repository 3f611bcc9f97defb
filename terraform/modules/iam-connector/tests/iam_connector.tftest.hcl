# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment       = "prod"
  runtime_role_arns = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"]
  group_config = [
    { path = "/sym/", name = "*" },
    { path = "/teams/db/", name = "db-admins" },
  ]
  tags = { Team = "security", ManagedBy = "terraform" }
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
    environment       = "Prod_1"
    runtime_role_arns = ["SymRuntimeProd"]
    group_config      = [{ path = "sym", name = "*" }]
  }

  expect_failures = [var.environment, var.runtime_role_arns, var.group_config]
}

run "creates_a_role_limited_to_group_membership" {
  assert {
    condition     = aws_iam_role.this.name == "SymIAMProd" && aws_iam_role.this.path == "/sym/"
    error_message = "The role must be /sym/SymIAMProd."
  }
  assert {
    condition     = aws_iam_role.this.arn == "arn:aws:iam::123456789012:role/sym/SymIAMProd"
    error_message = "Unexpected role ARN ${aws_iam_role.this.arn}."
  }

  # Trust: exactly the runtime connector role, one statement, no External ID.
  assert {
    condition     = length(jsondecode(aws_iam_role.this.assume_role_policy).Statement) == 1
    error_message = "The trust policy must have exactly one statement."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Effect == "Allow" && jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Action == ["sts:AssumeRole"]
    error_message = "The trust statement must allow sts:AssumeRole and nothing else."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal == { AWS = ["arn:aws:iam::123456789012:role/sym/SymRuntimeProd"] }
    error_message = "Only the runtime connector role may assume the IAM connector role."
  }
  assert {
    condition     = !can(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition)
    error_message = "The chained hop must not carry a condition (the External ID guards the first hop)."
  }

  # Permissions: membership changes on the configured groups only, reads on *.
  assert {
    condition     = aws_iam_policy.this.name == "SymIAMProd" && aws_iam_policy.this.path == "/sym/"
    error_message = "The policy must be /sym/SymIAMProd."
  }
  assert {
    condition     = length(jsondecode(aws_iam_policy.this.policy).Statement) == 2
    error_message = "The policy must have exactly two statements."
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement[0] == {
      Sid      = "ManageMembershipOfConfiguredGroups"
      Effect   = "Allow"
      Action   = ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"]
      Resource = ["arn:aws:iam::123456789012:group/sym/*", "arn:aws:iam::123456789012:group/teams/db/db-admins"]
    }
    error_message = "Membership changes must be limited to the configured group ARNs: ${jsonencode(jsondecode(aws_iam_policy.this.policy).Statement[0])}"
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement[1] == {
      Sid      = "ReadUsersAndGroups"
      Effect   = "Allow"
      Action   = ["iam:GetGroup", "iam:GetUser", "iam:ListGroups", "iam:ListGroupsForUser"]
      Resource = ["*"]
    }
    error_message = "Only the four read-only IAM actions may apply to *."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.this.role == "SymIAMProd" && aws_iam_role_policy_attachment.this.policy_arn == aws_iam_policy.this.arn
    error_message = "The policy must be attached to the role."
  }

  # Tags on every taggable resource.
  assert {
    condition     = aws_iam_role.this.tags == tomap({ Team = "security", ManagedBy = "terraform" }) && aws_iam_policy.this.tags == tomap({ Team = "security", ManagedBy = "terraform" })
    error_message = "The role and the policy must carry the given tags."
  }

  assert {
    condition = output.settings == {
      cloud      = "aws"
      region     = "us-east-1"
      role_arn   = "arn:aws:iam::123456789012:role/sym/SymIAMProd"
      account_id = "123456789012"
    }
    error_message = "Unexpected settings output: ${jsonencode(output.settings)}"
  }
}

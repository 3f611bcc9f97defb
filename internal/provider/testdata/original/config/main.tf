# A configuration as a team wrote it for the original provider
# (symopsio/sym 3.x): its version constraints, its provider block (org only;
# the server comes from SYM_API_URL, the token from SYM_JWT) and one of each
# of its eleven resources. TestOriginalState applies it, puts a state in the
# original provider's shape in place (../state), and checks that our
# provider reads it with an empty plan.
terraform {
  required_providers {
    sym = {
      source  = "symopsio/sym"
      version = ">= 1.0.0, >= 2.0, ~> 3.0"
    }
  }
}

provider "sym" {
  org = "default"
}

resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "prod-runtime-context"
  external_id = "123456789012"
  settings = {
    cloud       = "aws"
    region      = "us-east-1"
    role_arn    = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    external_id = "5b1b2c8e-7a4e-4f61-9d2a-0c6f0f1f2a3b"
    account_id  = "123456789012"
  }
}

resource "sym_integration" "iam_context" {
  type        = "permission_context"
  name        = "prod-iam"
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
  external_id = "T0123ABCD"
}

resource "sym_runtime" "this" {
  name       = "prod"
  context_id = sym_integration.runtime_context.id
}

resource "sym_error_logger" "slack" {
  integration_id = sym_integration.slack.id
  destination    = "#sym-errors"
}

resource "sym_log_destination" "firehose" {
  type           = "kinesis_firehose"
  integration_id = sym_integration.runtime_context.id
  settings = {
    stream_name = "sym-audit"
  }
}

resource "sym_environment" "this" {
  name            = "prod"
  runtime_id      = sym_runtime.this.id
  error_logger_id = sym_error_logger.slack.id
  integrations = {
    slack_id = sym_integration.slack.id
  }
  log_destination_ids = [sym_log_destination.firehose.id]
}

resource "sym_target" "cloudwatch_readonly" {
  type  = "aws_iam_group"
  name  = "cloudwatch-readonly"
  label = "Cloudwatch Read-only"
  settings = {
    iam_group = "CloudwatchReadOnly"
  }
}

resource "sym_strategy" "aws_iam" {
  type           = "aws_iam"
  name           = "main-aws-iam"
  integration_id = sym_integration.iam_context.id
  targets        = [sym_target.cloudwatch_readonly.id]
}

resource "sym_flow" "this" {
  name           = "iam_access"
  label          = "IAM Group Access"
  environment_id = sym_environment.this.id
  implementation = file("${path.module}/impl.py")
  vars = {
    approvers = "ops@example.com"
  }

  params {
    strategy_id     = sym_strategy.aws_iam.id
    allowed_sources = ["slack", "api"]

    prompt_field {
      name     = "reason"
      type     = "string"
      label    = "Why do you need access?"
      required = true
    }

    prompt_field {
      name           = "duration"
      type           = "duration"
      allowed_values = ["30m", "1h"]
      required       = true
    }
  }
}

# Declared with the original provider before 2.0: its state is at schema
# version 0 (params a flat map with JSON strings).
resource "sym_flow" "legacy" {
  name           = "approval_only"
  environment_id = sym_environment.this.id
  implementation = file("${path.module}/impl.py")

  params {
    allow_revoke    = false
    allowed_sources = ["api"]

    prompt_field {
      name           = "urgency"
      type           = "string"
      allowed_values = ["Low", "High"]
    }
  }
}

resource "sym_secrets" "this" {
  type = "aws_secrets_manager"
  name = "prod-secrets"
  settings = {
    context_id = sym_integration.runtime_context.id
  }
}

resource "sym_secret" "okta" {
  path      = "sym/prod/okta-api-token"
  source_id = sym_secrets.this.id
  settings = {
    json_key = "token"
  }
}

resource "sym_flows_filter" "this" {
  implementation = file("${path.module}/flows_filter.py")
  vars = {
    hidden_flow = "approval_only"
  }
  integrations = {
    slack_id = sym_integration.slack.id
  }
}

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
    environment = "PROD"
    role_name   = "sym/SymRuntimeProd"
  }

  expect_failures = [var.environment, var.role_name]
}

run "writes_only_to_streams_tagged_for_the_environment" {
  assert {
    condition     = aws_iam_policy.this.arn == "arn:aws:iam::123456789012:policy/sym/SymKinesisFirehoseProd"
    error_message = "The policy must be /sym/SymKinesisFirehoseProd, got ${aws_iam_policy.this.arn}."
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement[0] == {
      Sid       = "WriteToDeliveryStreamsTaggedForThisEnvironment"
      Effect    = "Allow"
      Action    = ["firehose:PutRecord", "firehose:PutRecordBatch"]
      Resource  = ["arn:aws:firehose:*:123456789012:deliverystream/*"]
      Condition = { StringEquals = { "aws:ResourceTag/SymEnv" = "prod" } }
    }
    error_message = "Writes must be conditioned on aws:ResourceTag/SymEnv (firehose:ResourceTag/ is not a real key): ${aws_iam_policy.this.policy}"
  }
  assert {
    condition     = !strcontains(aws_iam_policy.this.policy, "firehose:ResourceTag")
    error_message = "The policy must not use the non-existent firehose:ResourceTag/ condition key."
  }
  assert {
    condition     = jsondecode(aws_iam_policy.this.policy).Statement[1] == { Sid = "ListDeliveryStreams", Effect = "Allow", Action = ["firehose:ListDeliveryStreams"], Resource = ["*"] }
    error_message = "Only firehose:ListDeliveryStreams may apply to *."
  }
  assert {
    condition     = length(jsondecode(aws_iam_policy.this.policy).Statement) == 2
    error_message = "The policy must have exactly two statements."
  }
  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 0
    error_message = "Without role_name nothing is attached."
  }
  assert {
    condition     = aws_iam_policy.this.tags == tomap({ Team = "security" })
    error_message = "The policy must carry the given tags."
  }
}

# Run by internal/connector's Go tests against a fresh moto_server:
#   terraform test -var 'aws_endpoint="http://127.0.0.1:PORT"'
# (quoted: a variable the module does not declare is read as an HCL expression)
# aws_endpoint has no default on purpose: without it the test must not run.

variables {
  environment = "prod"
  stream_arns = ["arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit"]
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
    environment = "prod.1"
    stream_arns = ["arn:aws:firehose:us-east-1:123456789012:deliverystream/sym-audit"]
  }

  expect_failures = [var.environment, var.stream_arns]
}

run "writes_only_to_the_named_streams" {
  assert {
    condition     = aws_iam_policy.this.arn == "arn:aws:iam::123456789012:policy/sym/SymKinesisDataStreamProd"
    error_message = "The policy must be /sym/SymKinesisDataStreamProd, got ${aws_iam_policy.this.arn}."
  }
  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement == [
      {
        Sid      = "WriteToTheNamedDataStreams"
        Effect   = "Allow"
        Action   = ["kinesis:PutRecord", "kinesis:PutRecords"]
        Resource = ["arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit"]
      },
      { Sid = "ListDataStreams", Effect = "Allow", Action = ["kinesis:ListStreams"], Resource = ["*"] },
    ]
    error_message = "Writes must be limited to the named streams: ${aws_iam_policy.this.policy}"
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

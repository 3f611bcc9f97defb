locals {
  # role_name, or the original's iam_role_name ("" there means none).
  role_name = var.role_name != null ? var.role_name : (var.iam_role_name != "" ? var.iam_role_name : null)

  env_title = title(var.environment)

  policy_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteToTheNamedDataStreams"
        Effect   = "Allow"
        Action   = ["kinesis:PutRecord", "kinesis:PutRecords"]
        Resource = var.stream_arns
      },
      {
        Sid      = "ListDataStreams"
        Effect   = "Allow"
        Action   = ["kinesis:ListStreams"]
        Resource = ["*"]
      },
    ]
  }
}

resource "aws_iam_policy" "this" {
  name        = "SymKinesisDataStream${local.env_title}"
  path        = "/sym/"
  description = "Sym ${var.environment}: write audit records to the named Kinesis data streams"
  policy      = jsonencode(local.policy_document)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "this" {
  count = local.role_name == null ? 0 : 1

  role       = local.role_name
  policy_arn = aws_iam_policy.this.arn
}

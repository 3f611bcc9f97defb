locals {
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
}

resource "aws_iam_role_policy_attachment" "this" {
  count = var.role_name == null ? 0 : 1

  role       = var.role_name
  policy_arn = aws_iam_policy.this.arn
}

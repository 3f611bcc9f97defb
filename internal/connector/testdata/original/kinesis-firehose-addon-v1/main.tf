# kinesis-firehose-addon v1.x (see secretsmgr-addon-v1).
variable "environment" { type = string }
variable "iam_role_name" {
  type    = string
  default = ""
}
variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_iam_policy" "this" {
  name        = "SymKinesisFirehose${title(var.environment)}"
  path        = "/sym/"
  description = "Write Sym audit records to Firehose"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["firehose:PutRecord", "firehose:PutRecordBatch"]
        Resource  = "*"
        Condition = { StringEquals = { "firehose:ResourceTag/SymEnv" = var.environment } }
      },
      {
        Effect   = "Allow"
        Action   = ["firehose:ListDeliveryStreams"]
        Resource = "*"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "attach_firehose_access" {
  count      = var.iam_role_name != "" ? 1 : 0
  policy_arn = aws_iam_policy.this.arn
  role       = var.iam_role_name
}

output "policy_arn" { value = aws_iam_policy.this.arn }

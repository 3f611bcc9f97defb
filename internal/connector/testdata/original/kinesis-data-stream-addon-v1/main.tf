# kinesis-data-stream-addon v1.x (see secretsmgr-addon-v1).
variable "environment" { type = string }
variable "stream_arns" { type = list(string) }
variable "iam_role_name" {
  type    = string
  default = ""
}
variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_iam_policy" "this" {
  name        = "SymKinesisDataStream${title(var.environment)}"
  path        = "/sym/"
  description = "Write Sym audit records to Kinesis"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["kinesis:PutRecord", "kinesis:PutRecords"]
        Resource = var.stream_arns
      },
      {
        Effect   = "Allow"
        Action   = ["kinesis:ListStreams"]
        Resource = "*"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "attach_datastream_access" {
  count      = var.iam_role_name != "" ? 1 : 0
  policy_arn = aws_iam_policy.this.arn
  role       = var.iam_role_name
}

output "policy_arn" { value = aws_iam_policy.this.arn }

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  env_title = title(var.environment)
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  policy_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteToDeliveryStreamsTaggedForThisEnvironment"
        Effect   = "Allow"
        Action   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
        Resource = ["arn:${local.partition}:firehose:*:${local.account}:deliverystream/*"]
        # Firehose defines no firehose:ResourceTag/ condition key: a condition on
        # it never matches and would allow nothing. Delivery streams support the
        # global aws:ResourceTag/ key. See docs/decisions/005-connector-trust-and-firehose-condition.md.
        Condition = {
          StringEquals = {
            "aws:ResourceTag/SymEnv" = var.environment
          }
        }
      },
      {
        Sid      = "ListDeliveryStreams"
        Effect   = "Allow"
        Action   = ["firehose:ListDeliveryStreams"]
        Resource = ["*"]
      },
    ]
  }
}

resource "aws_iam_policy" "this" {
  name        = "SymKinesisFirehose${local.env_title}"
  path        = "/sym/"
  description = "Sym ${var.environment}: write audit records to Firehose delivery streams tagged SymEnv=${var.environment}"
  policy      = jsonencode(local.policy_document)
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  count = var.role_name == null ? 0 : 1

  role       = var.role_name
  policy_arn = aws_iam_policy.this.arn
}

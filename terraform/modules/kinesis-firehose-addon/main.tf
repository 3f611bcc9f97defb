data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # role_name, or the original's iam_role_name ("" there means none).
  role_name = var.role_name != null ? var.role_name : (var.iam_role_name != "" ? var.iam_role_name : null)

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

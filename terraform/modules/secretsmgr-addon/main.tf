data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # role_name, or the original's iam_role_name ("" there means none).
  role_name = var.role_name != null ? var.role_name : (var.iam_role_name != "" ? var.iam_role_name : null)

  # "prod" -> "Prod", "my-env" -> "My-Env": IAM names keep the seeds' SymRuntimeProd style.
  env_title = title(var.environment)
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  policy_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadSecretsTaggedForThisEnvironment"
        Effect   = "Allow"
        Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
        Resource = ["arn:${local.partition}:secretsmanager:*:${local.account}:secret:*"]
        # The global key: Secrets Manager also defines secretsmanager:ResourceTag/,
        # but aws:ResourceTag/ means the same here and is what every service knows.
        Condition = {
          StringEquals = {
            "aws:ResourceTag/${var.tag_name}" = var.environment
          }
        }
      },
    ]
  }
}

resource "aws_iam_policy" "this" {
  name        = "SymSecretsManager${local.env_title}"
  path        = "/sym/"
  description = "Sym ${var.environment}: read Secrets Manager secrets tagged ${var.tag_name}=${var.environment}"
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

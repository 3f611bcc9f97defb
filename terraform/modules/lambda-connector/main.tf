data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  env_title = title(var.environment)
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  name      = "SymLambda${local.env_title}"

  # Chained hop: only the runtime connector roles, no External ID (the
  # External ID guards the first hop into the runtime connector role).
  trust_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RuntimeConnectorMayAssume"
        Effect    = "Allow"
        Action    = ["sts:AssumeRole"]
        Principal = { AWS = var.runtime_role_arns }
      },
    ]
  }

  policy_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeConfiguredFunctions"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = var.lambda_arns
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name               = local.name
  path               = "/sym/"
  description        = "Sym ${var.environment}: invoke the configured Lambda functions"
  assume_role_policy = jsonencode(local.trust_policy)
  tags               = var.tags
}

resource "aws_iam_policy" "this" {
  name        = local.name
  path        = "/sym/"
  description = "Sym ${var.environment}: invoke the configured Lambda functions"
  policy      = jsonencode(local.policy_document)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}

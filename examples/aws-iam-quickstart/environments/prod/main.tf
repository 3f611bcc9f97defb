# The prod environment: one sym runtime, the IAM groups engineers may be
# moved into, and the flow that moves them. Copy this directory to add an
# environment (sandbox, staging) and change environment_name.

locals {
  environment_name = "prod"

  # What engineers may ask for. Each entry becomes an IAM group under /sym/
  # (the only thing sym may change membership of), a role that only members
  # of that group may assume, and a sym_target. The policy is what the role
  # may do: keep it as narrow as the job.
  targets = {
    cloudwatch-readonly = {
      label = "CloudWatch read-only"
      policy = jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "ReadMetricsAndLogs"
            Effect   = "Allow"
            Action   = ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*", "logs:Describe*", "logs:Get*", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults"]
            Resource = "*"
          },
        ]
      })
    }

    s3-readonly = {
      label = "S3 read-only"
      policy = jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "ReadBuckets"
            Effect   = "Allow"
            Action   = ["s3:Get*", "s3:List*"]
            Resource = "*"
          },
        ]
      })
    }
  }
}

# The runtime: the role sym server assumes in this account (with an External
# ID), the sym_environment, and the Secrets Manager source.
module "sym_runtime" {
  source = "../../modules/sym-runtime"

  environment            = local.environment_name
  trusted_principal_arns = var.runtime_trusted_principal_arns
  account_id_safelist    = var.account_id_safelist
  tags                   = var.tags
}

# One IAM group and target role per entry of local.targets.
module "aws_iam_target" {
  source   = "../../modules/aws-iam-target"
  for_each = local.targets

  name        = "${local.environment_name}-${each.key}"
  policy_json = each.value.policy
  require_mfa = var.require_mfa
  tags        = var.tags
}

# The flow engineers request access with, and the connector role that lets
# the runtime add them to (and remove them from) the groups above.
module "aws_iam_flow" {
  source = "../../modules/aws-iam-flow"

  environment      = local.environment_name
  environment_id   = module.sym_runtime.environment_id
  runtime_role_arn = module.sym_runtime.runtime_role_arn

  targets = [for key, t in module.aws_iam_target : {
    group_name = t.group_name
    label      = local.targets[key].label
  }]

  approvers           = var.approvers
  allow_self_approval = var.allow_self_approval
  durations           = var.durations
  tags                = var.tags
}

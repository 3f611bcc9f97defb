data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# A stable External ID without the random provider: uuid() runs once, at
# create, and ignore_changes keeps the first value for the life of the state.
resource "terraform_data" "external_id" {
  input = uuid()

  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  env_title   = title(var.environment)
  name        = "SymRuntime${local.env_title}"
  account     = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  external_id = trimspace(var.custom_external_id) != "" ? var.custom_external_id : terraform_data.external_id.output

  # Trust, see docs/decisions/005-connector-trust-and-firehose-condition.md:
  # exact principal ARNs when given, otherwise the current account root plus sym_account_ids.
  trusted_principals = length(var.trusted_principal_arns) > 0 ? distinct(var.trusted_principal_arns) : distinct(concat(
    ["arn:${local.partition}:iam::${local.account}:root"],
    [for a in var.sym_account_ids : "arn:${local.partition}:iam::${a}:root"],
  ))

  assume_accounts = distinct(concat([local.account], var.account_id_safelist))

  trust_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SymServerMayAssumeWithExternalId"
        Effect    = "Allow"
        Action    = ["sts:AssumeRole"]
        Principal = { AWS = local.trusted_principals }
        Condition = {
          StringEquals = { "sts:ExternalId" = local.external_id }
        }
      },
    ]
  }

  assume_roles_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AssumeSymRolesInAllowedAccounts"
        Effect   = "Allow"
        Action   = ["sts:AssumeRole"]
        Resource = [for a in local.assume_accounts : "arn:${local.partition}:iam::${a}:role/sym/*"]
      },
    ]
  }

  settings = {
    cloud               = "aws"
    region              = data.aws_region.current.name
    role_arn            = aws_iam_role.this.arn
    external_id         = local.external_id
    account_id          = local.account
    account_id_safelist = join(",", var.account_id_safelist)
    # What sym server checks the deployed role against before it first uses
    # it (the same check as `sym connector verify`).
    trusted_principals = join(",", local.trusted_principals)
    policy_arns        = join(",", sort(values(var.policy_arns)))
    addons             = join(",", sort(var.addons))
  }
}

resource "aws_iam_role" "this" {
  name               = local.name
  path               = "/sym/"
  description        = "Sym runtime connector for ${var.environment}: assumed by sym server with an External ID; may assume /sym/ roles in allowed accounts"
  assume_role_policy = jsonencode(local.trust_policy)
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = length(var.trusted_principal_arns) == 0 || length(var.sym_account_ids) == 0
      error_message = "Set either trusted_principal_arns (exact principals) or sym_account_ids (whole accounts), not both: trusted_principal_arns replaces the account-based trust."
    }
    precondition {
      condition     = !contains(var.addons, "aws/kinesis-data-stream") || length(try(var.addon_params["aws/kinesis-data-stream"].stream_arns, [])) > 0
      error_message = "The aws/kinesis-data-stream addon needs addon_params[\"aws/kinesis-data-stream\"].stream_arns: the ARNs of the streams the runtime may write to."
    }
  }
}

resource "aws_iam_policy" "assume_roles" {
  name        = local.name
  path        = "/sym/"
  description = "Sym runtime connector for ${var.environment}: assume /sym/ roles in the current and safelisted accounts"
  policy      = jsonencode(local.assume_roles_policy)
  tags        = var.tags

  lifecycle {
    # IAM cannot change a policy's description: a different one (the
    # original module's) would replace the policy. Keep whatever it has.
    ignore_changes = [description]
  }
}

resource "aws_iam_role_policy_attachment" "assume_roles" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.assume_roles.arn
}

resource "aws_iam_role_policy_attachment" "extra" {
  for_each = var.policy_arns

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

module "secretsmgr" {
  source = "../../../secretsmgr-addon"
  count  = contains(var.addons, "aws/secretsmgr") ? 1 : 0

  environment = var.environment
  role_name   = aws_iam_role.this.name
  tag_name    = try(var.addon_params["aws/secretsmgr"].tag_name, "SymEnv")
  tags        = var.tags
}

module "kinesis_firehose" {
  source = "../../../kinesis-firehose-addon"
  count  = contains(var.addons, "aws/kinesis-firehose") ? 1 : 0

  environment = var.environment
  role_name   = aws_iam_role.this.name
  tags        = var.tags
}

module "kinesis_data_stream" {
  source = "../../../kinesis-data-stream-addon"
  count  = contains(var.addons, "aws/kinesis-data-stream") ? 1 : 0

  environment = var.environment
  role_name   = aws_iam_role.this.name
  stream_arns = try(var.addon_params["aws/kinesis-data-stream"].stream_arns, [])
  tags        = var.tags
}

# secretsmgr-addon v1.x: the policy (v1.0, a child of runtime-connector v1)
# and, from v1.1 (beside runtime-connector v2), its attachment to
# iam_role_name.
variable "environment" { type = string }
variable "tag_name" {
  type    = string
  default = "SymEnv"
}
variable "iam_role_name" {
  type    = string
  default = ""
}
variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_iam_policy" "this" {
  name        = "SymSecretsManager${title(var.environment)}"
  path        = "/sym/"
  description = "Read the secrets tagged for this Sym environment"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      Resource  = "*"
      Condition = { StringEquals = { "secretsmanager:ResourceTag/${var.tag_name}" = var.environment } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "attach_secrets_manager_access" {
  count      = var.iam_role_name != "" ? 1 : 0
  policy_arn = aws_iam_policy.this.arn
  role       = var.iam_role_name
}

output "policy_arn" { value = aws_iam_policy.this.arn }

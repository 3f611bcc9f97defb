output "settings" {
  description = "Settings for a permission_context sym_integration: cloud, region, role_arn, account_id."
  value = {
    cloud      = "aws"
    region     = data.aws_region.current.name
    role_arn   = aws_iam_role.this.arn
    account_id = local.account
  }
}

output "role" {
  description = "The aws_iam_role resource the runtime chains into."
  value       = aws_iam_role.this
}

output "policy" {
  description = "The aws_iam_policy resource attached to the role."
  value       = aws_iam_policy.this
}

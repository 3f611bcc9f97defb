output "settings" {
  description = "Settings for a permission_context sym_integration: cloud, region, role_arn, account_id, instance_arn."
  value = {
    cloud        = "aws"
    region       = data.aws_region.current.name
    role_arn     = aws_iam_role.this.arn
    account_id   = local.account
    instance_arn = local.instance_arn
  }
}

output "role" {
  description = "The aws_iam_role resource the runtime chains into."
  value       = aws_iam_role.this
}

output "policies" {
  description = "The aws_iam_policy resources attached to the role, by purpose: sso, sso_group, list_accounts and (when enabled) sso_account."
  value = merge(
    { sso = aws_iam_policy.sso, sso_group = aws_iam_policy.sso_group, list_accounts = aws_iam_policy.list_accounts },
    var.sso_account_assignment_enabled ? { sso_account = aws_iam_policy.sso_account[0] } : {},
  )
}

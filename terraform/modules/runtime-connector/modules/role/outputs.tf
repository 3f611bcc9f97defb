output "account_id" {
  description = "The AWS account id of this connector."
  value       = local.account
}

output "settings" {
  description = "Settings for the runtime's permission_context sym_integration: cloud, region, role_arn, external_id, account_id, account_id_safelist (comma-separated, the current account not included), and what sym server verifies the role against: trusted_principals, policy_arns, addons (comma-separated)."
  value       = local.settings
}

output "external_id" {
  description = "The External ID in the trust policy."
  value       = local.external_id
}

output "trusted_principals" {
  description = "The principal ARNs the trust policy names."
  value       = local.trusted_principals
}

output "role" {
  description = "The aws_iam_role resource the Sym runtime assumes."
  value       = aws_iam_role.this
}

output "assume_roles_policy" {
  description = "The aws_iam_policy resource that lets the runtime assume /sym/ roles."
  value       = aws_iam_policy.assume_roles
}

output "addon_policy_arns" {
  description = "ARNs of the addon policies attached to the role, keyed by addon name."
  value = tomap(merge(
    { for m in module.secretsmgr : "aws/secretsmgr" => m.policy_arn },
    { for m in module.kinesis_firehose : "aws/kinesis-firehose" => m.policy_arn },
    { for m in module.kinesis_data_stream : "aws/kinesis-data-stream" => m.policy_arn },
  ))
}

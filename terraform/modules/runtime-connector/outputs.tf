output "account_id" {
  description = "The AWS account id of this connector."
  value       = module.role.account_id
}

output "settings" {
  description = "Settings for a permission_context sym_integration: cloud, region, role_arn, external_id, account_id, account_id_safelist (comma-separated; the current account is always allowed and not listed), and what sym server verifies the role against: trusted_principals, policy_arns, addons (comma-separated)."
  value       = module.role.settings
}

output "sym_runtime_connector_role" {
  description = "The aws_iam_role resource that sym server assumes (with the External ID) to execute flows in this account."
  value       = module.role.role
}

output "sym_integration" {
  description = "The sym_integration (type permission_context) that tells the runtime which role to assume; use it in sym_runtime and sym_secrets."
  value       = sym_integration.runtime_context
}

output "sym_runtime" {
  description = "The sym_runtime to pass to your sym_environment."
  value       = sym_runtime.this
}

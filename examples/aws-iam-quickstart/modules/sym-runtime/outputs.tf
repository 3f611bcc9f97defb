output "environment_id" {
  description = "The id of the sym_environment, for sym_flow.environment_id."
  value       = sym_environment.this.id
}

output "environment_name" {
  description = "The name of the sym_environment."
  value       = sym_environment.this.name
}

output "runtime_role_arn" {
  description = "ARN of the runtime connector role: the connector roles the runtime chains into must trust it."
  value       = module.runtime_connector.sym_runtime_connector_role.arn
}

output "runtime_context_id" {
  description = "The id of the runtime's permission context (sym_integration)."
  value       = module.runtime_connector.sym_integration.id
}

output "secrets_source_id" {
  description = "The id of the sym_secrets source, for sym_secret resources."
  value       = sym_secrets.this.id
}

output "account_id" {
  description = "The AWS account the runtime connector lives in."
  value       = module.runtime_connector.account_id
}

output "runtime_settings" {
  description = "The runtime connector's settings (role_arn, external_id, account_id_safelist, trusted_principals, ...): what `sym connector verify` checks the deployed role against."
  value       = module.runtime_connector.settings
}

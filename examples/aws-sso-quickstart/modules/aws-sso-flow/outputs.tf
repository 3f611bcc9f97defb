output "flow_name" {
  description = "The flow's name, to request access with."
  value       = sym_flow.this.name
}

output "target_names" {
  description = "The names of the flow's sym targets."
  value       = sort(keys(sym_target.this))
}

output "connector_role_arn" {
  description = "ARN of the SSO connector role the runtime chains into."
  value       = module.sso_connector.settings.role_arn
}

output "instance_arn" {
  description = "The IAM Identity Center instance."
  value       = module.sso_connector.settings.instance_arn
}

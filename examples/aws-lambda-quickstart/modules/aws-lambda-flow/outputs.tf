output "flow_name" {
  description = "The flow's name, to request access with."
  value       = sym_flow.this.name
}

output "target_names" {
  description = "The names of the flow's sym targets."
  value       = sort(keys(sym_target.this))
}

output "connector_role_arn" {
  description = "ARN of the Lambda connector role the runtime chains into."
  value       = module.lambda_connector.settings.role_arn
}

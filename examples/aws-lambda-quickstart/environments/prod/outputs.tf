output "flow_name" {
  description = "The name to request access with: sym request FLOW_NAME --target TARGET ..."
  value       = module.aws_lambda_flow.flow_name
}

output "target_names" {
  description = "The sym targets of the flow, one per function."
  value       = module.aws_lambda_flow.target_names
}

output "runtime_role_arn" {
  description = "The runtime connector role sym server assumes (with the External ID) in this account."
  value       = module.runtime_connector.sym_runtime_connector_role.arn
}

output "lambda_connector_role_arn" {
  description = "The role the runtime chains into to invoke the functions."
  value       = module.aws_lambda_flow.connector_role_arn
}

output "runtime_settings" {
  description = "The runtime connector's settings, for `sym connector verify`."
  value       = module.runtime_connector.settings
}

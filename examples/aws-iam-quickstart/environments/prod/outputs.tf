output "flow_name" {
  description = "The name to request access with: sym request FLOW_NAME --target TARGET ..."
  value       = module.aws_iam_flow.flow_name
}

output "target_names" {
  description = "The sym targets of the flow, one per IAM group."
  value       = module.aws_iam_flow.target_names
}

output "group_names" {
  description = "The IAM groups (path /sym/) that sym moves users in and out of, by target key."
  value       = { for key, t in module.aws_iam_target : key => t.group_name }
}

output "target_role_arns" {
  description = "The roles members of each group may assume, by target key."
  value       = { for key, t in module.aws_iam_target : key => t.role_arn }
}

output "runtime_role_arn" {
  description = "The runtime connector role sym server assumes (with the External ID) in this account."
  value       = module.sym_runtime.runtime_role_arn
}

output "iam_connector_role_arn" {
  description = "The role the runtime chains into to change group membership."
  value       = module.aws_iam_flow.connector_role_arn
}

output "environment_name" {
  description = "The sym environment these resources belong to."
  value       = module.sym_runtime.environment_name
}

output "runtime_settings" {
  description = "The runtime connector's settings, for `sym connector verify`."
  value       = module.sym_runtime.runtime_settings
}

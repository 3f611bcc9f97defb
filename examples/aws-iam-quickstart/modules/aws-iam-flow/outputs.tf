output "flow_name" {
  description = "The flow's name, to request access with."
  value       = sym_flow.this.name
}

output "flow_id" {
  description = "The flow's id."
  value       = sym_flow.this.id
}

output "target_names" {
  description = "The names of the flow's sym targets (the IAM group names)."
  value       = sort(keys(sym_target.this))
}

output "strategy_id" {
  description = "The id of the aws_iam sym_strategy."
  value       = sym_strategy.aws_iam.id
}

output "connector_role_arn" {
  description = "ARN of the IAM connector role the runtime chains into."
  value       = module.iam_connector.settings.role_arn
}

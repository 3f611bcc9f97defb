output "group_name" {
  description = "The IAM group sym adds users to: the sym_target's iam_group."
  value       = aws_iam_group.this.name
}

output "group_arn" {
  description = "ARN of the IAM group."
  value       = aws_iam_group.this.arn
}

output "role_arn" {
  description = "ARN of the role members of the group may assume."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role members of the group may assume."
  value       = aws_iam_role.this.name
}

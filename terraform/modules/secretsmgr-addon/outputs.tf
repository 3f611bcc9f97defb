output "policy_arn" {
  description = "ARN of the managed policy."
  value       = aws_iam_policy.this.arn
}

output "policy" {
  description = "The aws_iam_policy resource."
  value       = aws_iam_policy.this
}

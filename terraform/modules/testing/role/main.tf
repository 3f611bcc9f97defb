# Test fixture: a plain /sym/ role that module tests attach policies to.
variable "name" {
  type = string
}

resource "aws_iam_role" "this" {
  name = var.name
  path = "/sym/"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["sts:AssumeRole"], Principal = { AWS = ["arn:aws:iam::123456789012:root"] } }]
  })
  tags = { Purpose = "module-test" }
}

output "name" {
  value = aws_iam_role.this.name
}

output "arn" {
  value = aws_iam_role.this.arn
}

# An unrelated customer policy, to attach through policy_arns.
resource "aws_iam_policy" "extra" {
  name   = "${var.name}Extra"
  path   = "/test/"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = ["arn:aws:s3:::audit-bucket/*"] }] })
  tags   = { Purpose = "module-test" }
}

output "policy_arn" {
  value = aws_iam_policy.extra.arn
}

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

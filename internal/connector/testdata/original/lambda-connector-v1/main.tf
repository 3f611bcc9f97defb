# lambda-connector: role and policy SymLambda<Env> under /sym/, trusted by
# runtime_role_arns, lambda:InvokeFunction on lambda_arns only. (REFERENCE
# names the IAM objects and inputs; the addresses are the ones ours uses.)
variable "environment" { type = string }
variable "runtime_role_arns" { type = list(string) }
variable "lambda_arns" { type = list(string) }
variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  name = "SymLambda${title(var.environment)}"
}

resource "aws_iam_role" "this" {
  name = local.name
  path = "/sym/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { AWS = var.runtime_role_arns }
    }]
  })
  tags = var.tags
}

resource "aws_iam_policy" "this" {
  name        = local.name
  path        = "/sym/"
  description = "Invoke the Sym Lambda functions"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = var.lambda_arns
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  policy_arn = aws_iam_policy.this.arn
  role       = aws_iam_role.this.name
}

output "settings" {
  value = {
    cloud    = "aws"
    role_arn = aws_iam_role.this.arn
  }
}

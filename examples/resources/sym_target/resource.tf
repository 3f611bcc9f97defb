resource "sym_target" "cloudwatch_readonly" {
  type  = "aws_iam_group"
  name  = "CloudwatchReadOnly"
  label = "Cloudwatch Read-only"

  settings = {
    iam_group = "CloudwatchReadOnly"
  }
}

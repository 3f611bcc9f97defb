resource "sym_strategy" "aws_iam" {
  type           = "aws_iam"
  name           = "main-aws-iam"
  integration_id = sym_integration.iam_context.id
  targets        = [sym_target.cloudwatch_readonly.id]
}

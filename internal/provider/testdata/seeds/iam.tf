# The AWS IAM access strategy guide, step by step.

# Define the AWS IAM Permission Context Integration
resource "sym_integration" "iam_context" {
  type        = "permission_context"
  name        = "main-iam"
  external_id = local.iam_connector_settings.account_id
  settings    = local.iam_connector_settings
}

# Add AWS IAM Access Targets
resource "sym_target" "cloudwatch_readonly" {
  type = "aws_iam_group"

  # A unique identifier for this target, we recommend using the group name.
  name  = "CloudwatchReadOnly"
  label = "Cloudwatch Read-only"

  settings = {
    # Your AWS IAM Group name
    iam_group = "CloudwatchReadOnly"
  }
}

# Add an AWS IAM Access Strategy
resource "sym_strategy" "aws_iam" {
  type           = "aws_iam"
  name           = "main-aws-iam"
  integration_id = sym_integration.iam_context.id

  # This must be a list of `aws_iam_group` sym_targets that users can request to be escalated to
  targets = [sym_target.cloudwatch_readonly.id]
}

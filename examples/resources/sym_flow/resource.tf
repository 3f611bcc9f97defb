resource "sym_flow" "iam_access" {
  name           = "iam_access"
  label          = "IAM Group Access"
  environment_id = sym_environment.prod.id

  # The code itself, not its path.
  implementation = file("${path.module}/impl.py")

  vars = {
    approvers_channel = "#sym-requests"
  }

  params {
    strategy_id = sym_strategy.aws_iam.id

    # At least one of these must be true (both default to true).
    allow_revoke          = true
    schedule_deescalation = true

    prompt_field {
      name     = "reason"
      label    = "Why do you need access?"
      type     = "string"
      required = true
    }

    prompt_field {
      name           = "duration"
      type           = "duration"
      allowed_values = ["30m", "1h", "4h"]
    }
  }
}

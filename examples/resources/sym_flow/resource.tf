resource "sym_flow" "iam_access" {
  name           = "iam_access"
  label          = "IAM Group Access"
  environment_id = sym_environment.prod.id

  # The code itself, not its path.
  implementation = file("${path.module}/impl.py")

  vars = {
    approvers       = "lead@example.com,oncall@example.com" # absent: only admins decide
    request_channel = "C0456EFGH"                           # Slack posts each request here (docs/web.md)
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

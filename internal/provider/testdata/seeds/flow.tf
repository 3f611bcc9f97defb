# The quickstart's aws-iam-flow module.

resource "sym_flow" "this" {
  name  = "iam_access"
  label = "IAM Group Access"

  implementation = file("${path.module}/impl.py")
  environment_id = sym_environment.this.id

  params {
    # The strategy this Flow will use to manage access.
    strategy_id = sym_strategy.aws_iam.id

    prompt_field {
      name     = "reason"
      label    = "Why do you need access?"
      type     = "string"
      required = true
    }

    prompt_field {
      name           = "duration"
      type           = "duration"
      allowed_values = ["30m", "1h"]
      required       = true
    }
  }
}

output "flow_id" {
  value = sym_flow.this.id
}

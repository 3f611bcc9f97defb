# One per organisation: which flows each user may see and request.
resource "sym_flows_filter" "this" {
  implementation = file("${path.module}/flows_filter.py")

  vars = {
    admins_only_flow = "break_glass"
  }

  integrations = {
    slack_id = sym_integration.slack.id
  }
}

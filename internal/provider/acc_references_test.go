package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// referencesConfig is an environment with two flows: one granting through
// a strategy ({{STRATEGY}}: the strategy, {{REF}}: the flow's reference to
// it) and two approval-only flows whose strategy_id is "" (a variable
// defaulting to "", as configurations written for the original provider
// say "no strategy") and "<null>" (the original client's null).
const referencesConfig = `
variable "no_strategy" {
  default = ""
}

resource "sym_environment" "this" {
  name = "refs"
}

resource "sym_integration" "iam" {
  type     = "permission_context"
  name     = "refs-iam"
  settings = { role_arn = "arn:aws:iam::123456789012:role/sym/SymIAMRefs" }
}

{{STRATEGY}}

resource "sym_flow" "grants" {
  name           = "refs-grants"
  environment_id = sym_environment.this.id
  implementation = "pass"
  params {
    {{REF}}
  }
}

resource "sym_flow" "approval" {
  name           = "refs-approval"
  environment_id = sym_environment.this.id
  implementation = "pass"
  params {
    strategy_id = var.no_strategy
  }
}

resource "sym_flow" "approval_null" {
  name           = "refs-approval-null"
  environment_id = sym_environment.this.id
  implementation = "pass"
  params {
    strategy_id = "<null>"
  }
}
`

func referencesStrategy(lifecycle string) string {
	return `
resource "sym_strategy" "iam" {
  type           = "aws_iam"
  name           = "refs"
  integration_id = sym_integration.iam.id
  ` + lifecycle + `
}`
}

// TestAccFlowReferences: flows whose strategy_id is "" or "<null>" apply
// and plan no change (approval-only, as with no strategy_id); and a strategy taken
// out of the configuration together with the flow's reference to it, which
// Terraform deletes before it updates the flow, fails with a message that
// says how to do it (two applies, or create_before_destroy), and that
// advice works.
func TestAccFlowReferences(t *testing.T) {
	srv := startServer(t)
	cfg := func(strategy, ref string) string {
		return render(providerBlock, "URL", srv.URL) + render(referencesConfig, "STRATEGY", strategy, "REF", ref)
	}
	withStrategy := cfg(referencesStrategy(""), "strategy_id = sym_strategy.iam.id")
	withoutStrategy := cfg("", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: withStrategy,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("sym_flow.approval", "params.0.strategy_id", ""),
					resource.TestCheckResourceAttr("sym_flow.approval_null", "params.0.strategy_id", "<null>"),
					resource.TestCheckResourceAttrPair("sym_flow.grants", "params.0.strategy_id", "sym_strategy.iam", "id"),
				),
			},
			{
				Config: withoutStrategy,
				ExpectError: regexp.MustCompile(`(?s)Deleting sym access strategy.*still referenced by flow refs-grants.*` +
					`Terraform deletes.*before it\s+updates.*create_before_destroy = true`),
			},
			// Two applies: the reference goes first, then the strategy.
			{Config: cfg(referencesStrategy(""), "")},
			{
				Config: withoutStrategy,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sym_strategy.iam", plancheck.ResourceActionDestroy)},
				},
			},
			// create_before_destroy: one apply updates the flow, then
			// deletes the strategy.
			{Config: cfg(referencesStrategy("lifecycle {\n    create_before_destroy = true\n  }"), "strategy_id = sym_strategy.iam.id")},
			{
				Config: withoutStrategy,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("sym_strategy.iam", plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction("sym_flow.grants", plancheck.ResourceActionUpdate),
					},
				},
				Check: resource.TestCheckNoResourceAttr("sym_flow.grants", "params.0.strategy_id"),
			},
		},
	})
}

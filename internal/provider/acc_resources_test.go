package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/opensym/sym/internal/testenv"
)

// allResources declares one or more of every resource and every data
// source. Placeholders: URL, V (a version word that changes in the update
// step), the names (so a step can change their case), and the parts that
// differ between the create and the update configuration.
const allResources = `
provider "sym" {
  org     = "default"
  api_url = "{{URL}}"
}

resource "sym_integration" "runtime_context" {
  type        = "permission_context"
  name        = "{{N_RUNTIME_CONTEXT}}"
  label       = "Runtime context {{V}}"
  external_id = "123456789012"
  settings = {
    cloud       = "aws"
    region      = "us-east-1"
    role_arn    = "arn:aws:iam::123456789012:role/sym/SymRuntimeProd"
    external_id = "ext-{{V}}"
    account_id  = "123456789012"
  }
}

resource "sym_integration" "iam_context" {
  type        = "permission_context"
  name        = "{{N_IAM_CONTEXT}}"
  label       = "IAM {{V}}"
  external_id = "123456789012"
  settings = {
    cloud      = "aws"
    region     = "us-east-1"
    role_arn   = "arn:aws:iam::123456789012:role/sym/SymIAMProd"
    account_id = "123456789012"
  }
}

resource "sym_integration" "slack" {
  type        = "slack"
  name        = "{{N_SLACK}}"
  external_id = "T0{{V}}"
  {{SLACK_SETTINGS}}
}

resource "sym_runtime" "this" {
  name       = "{{N_RUNTIME}}"
  label      = "Runtime {{V}}"
  context_id = sym_integration.runtime_context.id
}

resource "sym_error_logger" "this" {
  integration_id = sym_integration.slack.id
  destination    = "#sym-errors-{{V}}"
}

resource "sym_log_destination" "this" {
  type           = "kinesis_firehose"
  integration_id = sym_integration.runtime_context.id
  settings = {
    stream_name = "sym-audit-{{V}}"
  }
}

resource "sym_environment" "this" {
  name            = "{{N_ENVIRONMENT}}"
  label           = "Production {{V}}"
  runtime_id      = sym_runtime.this.id
  error_logger_id = sym_error_logger.this.id
  integrations = {
    slack_id = sym_integration.slack.id
    {{ENV_INTEGRATIONS}}
  }
  log_destination_ids = [sym_log_destination.this.id]
}

resource "sym_target" "readonly" {
  type  = "aws_iam_group"
  name  = "{{N_TARGET_RO}}"
  label = "Cloudwatch Read-only {{V}}"
  settings = {
    iam_group = "CloudwatchReadOnly{{V}}"
  }
  {{TARGET_BINDINGS}}
}

resource "sym_target" "admin" {
  type  = "aws_iam_group"
  name  = "{{N_TARGET_ADMIN}}"
  label = "Admin {{V}}"
  settings = {
    iam_group = "Admin"
  }
}

resource "sym_strategy" "iam" {
  type           = "aws_iam"
  name           = "{{N_STRATEGY}}"
  label          = "IAM {{V}}"
  integration_id = sym_integration.iam_context.id
  targets        = [{{STRATEGY_TARGETS}}]
}

resource "sym_strategy" "http" {
  type  = "http"
  name  = "{{N_STRATEGY_HTTP}}"
  settings = {
    url = "https://hooks.example.com/{{V}}"
  }
}

resource "sym_flow" "this" {
  name           = "{{N_FLOW}}"
  label          = "IAM Group Access {{V}}"
  environment_id = sym_environment.this.id
  implementation = <<-EOT
    # flow code, version {{V}}
    def get_approvers(event):
        return ["ops@example.com"]
  EOT
  vars = {
    approvers = "ops-{{V}}@example.com"
  }

  params {
    strategy_id = sym_strategy.iam.id
    {{FLOW_PARAMS}}

    prompt_field {
      name     = "reason"
      type     = "string"
      label    = "Why do you need access?"
      required = true
    }
    prompt_field {
      name           = "duration"
      type           = "duration"
      allowed_values = [{{DURATIONS}}]
      default        = "1h"
    }
  }
}

resource "sym_flow" "approval" {
  name           = "{{N_FLOW_APPROVAL}}"
  environment_id = sym_environment.this.id
  implementation = "# approval only {{V}}"
  params {
    allowed_sources = [{{SOURCES}}]
  }
}

resource "sym_secrets" "this" {
  type = "aws_secrets_manager"
  name = "{{N_SECRETS}}"
  label = "Secrets {{V}}"
  settings = {
    context_id = sym_integration.runtime_context.id
  }
}

resource "sym_secret" "this" {
  path      = "sym/prod/okta-token-{{V}}"
  source_id = sym_secrets.this.id
  label     = "Okta token"
  settings = {
    json_key = "key-{{V}}"
  }
}

{{DATA}}
`

// dataSources reads back what allResources declares.
const dataSources = `
data "sym_environment" "this" {
  name = sym_environment.this.name
}

data "sym_integration" "slack" {
  type = "slack"
  name = sym_integration.slack.name
}

data "sym_runtime" "this" {
  name = sym_runtime.this.name
}

data "sym_secrets" "this" {
  type = sym_secrets.this.type
  name = sym_secrets.this.name
}
`

// entityKinds maps resource addresses of allResources to their API kinds.
var entityKinds = map[string]string{
	"sym_integration.runtime_context": "integrations",
	"sym_integration.iam_context":     "integrations",
	"sym_integration.slack":           "integrations",
	"sym_runtime.this":                "runtimes",
	"sym_error_logger.this":           "error-loggers",
	"sym_log_destination.this":        "log-destinations",
	"sym_environment.this":            "environments",
	"sym_target.readonly":             "access-targets",
	"sym_target.admin":                "access-targets",
	"sym_strategy.iam":                "access-strategies",
	"sym_strategy.http":               "access-strategies",
	"sym_flow.this":                   "flows",
	"sym_flow.approval":               "flows",
	"sym_secrets.this":                "secret-sources",
	"sym_secret.this":                 "secrets",
}

// deletionOrder deletes referrers before what they reference.
var deletionOrder = []string{
	"sym_flow.this", "sym_flow.approval", "sym_environment.this", "sym_strategy.iam", "sym_strategy.http",
	"sym_target.readonly", "sym_target.admin", "sym_secret.this", "sym_secrets.this",
	"sym_runtime.this", "sym_error_logger.this", "sym_log_destination.this",
	"sym_integration.runtime_context", "sym_integration.iam_context", "sym_integration.slack",
}

var baseNames = map[string]string{
	"N_RUNTIME_CONTEXT": "prod-runtime-context",
	"N_IAM_CONTEXT":     "main-iam",
	"N_SLACK":           "slack",
	"N_RUNTIME":         "prod",
	"N_ENVIRONMENT":     "prod",
	"N_TARGET_RO":       "cloudwatch-readonly",
	"N_TARGET_ADMIN":    "admin",
	"N_STRATEGY":        "main-aws-iam",
	"N_STRATEGY_HTTP":   "webhook",
	"N_FLOW":            "iam_access",
	"N_FLOW_APPROVAL":   "approval",
	"N_SECRETS":         "main-secrets",
}

type variant struct {
	v           string
	noData      bool // leave the data sources out
	upperNames  bool
	emptyBlocks bool // write settings = {}, field_bindings = [] where v1 leaves them out
}

func (va variant) config(url string) string {
	kv := []string{"URL", url, "V", va.v}
	for k, n := range baseNames {
		if va.upperNames {
			n = strings.ToUpper(n)
		}
		kv = append(kv, k, n)
	}
	if va.emptyBlocks {
		kv = append(kv, "SLACK_SETTINGS", "settings = {}", "TARGET_BINDINGS", "field_bindings = []")
	} else {
		kv = append(kv, "SLACK_SETTINGS", "", "TARGET_BINDINGS", "")
	}
	if va.v == "one" {
		kv = append(kv,
			"ENV_INTEGRATIONS", "",
			"STRATEGY_TARGETS", "sym_target.readonly.id",
			"FLOW_PARAMS", "",
			"DURATIONS", `"1h", "4h"`,
			"SOURCES", `"slack", "api"`)
	} else {
		kv = append(kv,
			"ENV_INTEGRATIONS", "pagerduty_id = \"PD-"+va.v+"\"",
			"STRATEGY_TARGETS", "sym_target.readonly.id, sym_target.admin.id",
			"FLOW_PARAMS", `allow_revoke = false
    include_decision_message = false
    allow_guest_interaction = true
    additional_header_text = "Ask in #ops first"`,
			"DURATIONS", `"30m", "1h", "8h"`,
			"SOURCES", "")
	}
	if va.noData {
		kv = append(kv, "DATA", "")
	} else {
		kv = append(kv, "DATA", dataSources)
	}
	return render(allResources, kv...)
}

func allAddresses() []string {
	out := make([]string, 0, len(deletionOrder))
	out = append(out, deletionOrder...)
	return out
}

func expectActions(action plancheck.ResourceActionType, addrs ...string) []plancheck.PlanCheck {
	var out []plancheck.PlanCheck
	for _, a := range addrs {
		out = append(out, plancheck.ExpectResourceAction(a, action))
	}
	return out
}

// importBy answers an ImportStateIdFunc that builds the import ID from
// attributes of the resource in state.
func importBy(addr, format string, attrs ...string) resource.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		var vals []any
		for _, a := range attrs {
			v, err := stateAttr(s, addr, a)
			if err != nil {
				return "", err
			}
			vals = append(vals, v)
		}
		return fmt.Sprintf(format, vals...), nil
	}
}

func importStep(cfg, addr string, id resource.ImportStateIdFunc) resource.TestStep {
	return resource.TestStep{
		Config:            cfg,
		ResourceName:      addr,
		ImportState:       true,
		ImportStateVerify: true,
		ImportStateIdFunc: id,
	}
}

// TestAccAllResources takes every resource through create, a second plan
// with no changes, update in place, import (by name, TYPE:NAME, id and the
// keys of unnamed kinds), case-only name changes and empty-versus-absent
// maps (no diff), and deletion behind Terraform's back (re-created).
func TestAccAllResources(t *testing.T) {
	srv := startServer(t)
	one := variant{v: "one"}.config(srv.URL)
	two := variant{v: "two"}.config(srv.URL)
	// Data sources read by name, which fails while the named entities are
	// gone: the disappears steps go without them.
	twoNoData := variant{v: "two", noData: true}.config(srv.URL)
	twoCase := variant{v: "two", upperNames: true, emptyBlocks: true}.config(srv.URL)

	steps := []resource.TestStep{
		{
			// Create; the framework then plans again and fails on any diff.
			Config: one,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: expectActions(plancheck.ResourceActionCreate, allAddresses()...),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.allow_revoke", "true"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.schedule_deescalation", "true"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.prompt_field.#", "2"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.prompt_field.0.required", "true"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.prompt_field.1.visible", "true"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.prompt_field.1.allowed_values.#", "2"),
				resource.TestCheckResourceAttr("sym_flow.approval", "params.0.allowed_sources.#", "2"),
				resource.TestCheckNoResourceAttr("sym_flow.approval", "params.0.strategy_id"),
				resource.TestCheckResourceAttr("sym_integration.slack", "settings.%", "0"),
				resource.TestCheckResourceAttr("sym_strategy.http", "integration_id", ""),
				resource.TestCheckResourceAttrPair("data.sym_environment.this", "id", "sym_environment.this", "id"),
				resource.TestCheckResourceAttrPair("data.sym_environment.this", "runtime_id", "sym_runtime.this", "id"),
				resource.TestCheckResourceAttrPair("data.sym_integration.slack", "id", "sym_integration.slack", "id"),
				resource.TestCheckResourceAttr("data.sym_integration.slack", "external_id", "T0one"),
				resource.TestCheckResourceAttrPair("data.sym_runtime.this", "context_id", "sym_integration.runtime_context", "id"),
				resource.TestCheckResourceAttrPair("data.sym_secrets.this", "settings.context_id", "sym_integration.runtime_context", "id"),
				checkWire(srv),
			),
		},
		{
			// Every resource changes in place; none is replaced.
			Config: two,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: expectActions(plancheck.ResourceActionUpdate, allAddresses()...),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.allow_revoke", "false"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.include_decision_message", "false"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.additional_header_text", "Ask in #ops first"),
				resource.TestCheckResourceAttr("sym_flow.this", "params.0.prompt_field.1.allowed_values.#", "3"),
				resource.TestCheckResourceAttr("sym_flow.approval", "params.0.allowed_sources.#", "0"),
				resource.TestCheckResourceAttr("sym_strategy.iam", "targets.#", "2"),
				resource.TestCheckResourceAttr("sym_environment.this", "integrations.pagerduty_id", "PD-two"),
				resource.TestCheckResourceAttr("sym_secret.this", "path", "sym/prod/okta-token-two"),
				resource.TestCheckResourceAttr("sym_error_logger.this", "destination", "#sym-errors-two"),
				resource.TestCheckResourceAttr("sym_log_destination.this", "settings.stream_name", "sym-audit-two"),
				resource.TestCheckResourceAttr("data.sym_integration.slack", "external_id", "T0two"),
			),
		},
		{
			// Names in another case, settings = {} and field_bindings = []
			// where they were absent: nothing to do.
			Config:   twoCase,
			PlanOnly: true,
		},
		{
			// A real change along with a change of case: the stored
			// spelling of the names stays.
			Config: variant{v: "three", upperNames: true}.config(srv.URL),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("sym_flow.this", "name", "iam_access"),
				resource.TestCheckResourceAttr("sym_flow.this", "label", "IAM Group Access three"),
				resource.TestCheckResourceAttr("sym_integration.iam_context", "name", "main-iam"),
				resource.TestCheckResourceAttr("data.sym_environment.this", "name", "prod"),
			),
		},
		{Config: two},
		importStep(two, "sym_integration.runtime_context", importBy("sym_integration.runtime_context", "%s", "id")),
		importStep(two, "sym_integration.iam_context", importBy("sym_integration.iam_context", "permission_context:%s", "name")),
		importStep(two, "sym_integration.slack", func(*terraform.State) (string, error) { return "SLACK", nil }),
		importStep(two, "sym_runtime.this", importBy("sym_runtime.this", "%s", "name")),
		importStep(two, "sym_error_logger.this", importBy("sym_error_logger.this", "%s", "destination")),
		importStep(two, "sym_log_destination.this", importBy("sym_log_destination.this", "kinesis_firehose:%s", "settings.stream_name")),
		importStep(two, "sym_environment.this", importBy("sym_environment.this", "%s", "name")),
		importStep(two, "sym_target.readonly", importBy("sym_target.readonly", "aws_iam_group:%s", "name")),
		importStep(two, "sym_strategy.iam", importBy("sym_strategy.iam", "aws_iam:%s", "name")),
		importStep(two, "sym_strategy.http", importBy("sym_strategy.http", "%s", "name")),
		importStep(two, "sym_flow.this", importBy("sym_flow.this", "%s", "name")),
		importStep(two, "sym_flow.approval", importBy("sym_flow.approval", "%s", "id")),
		importStep(two, "sym_secrets.this", importBy("sym_secrets.this", "aws_secrets_manager:%s", "name")),
		importStep(two, "sym_secret.this", importBy("sym_secret.this", "%s", "path")),
		{
			// Everything deleted through the API: the refresh forgets it and
			// the plan creates it again.
			Config:             twoNoData,
			Check:              deleteBehindTerraform(srv, entityKinds, deletionOrder...),
			ExpectNonEmptyPlan: true,
		},
		{
			Config: twoNoData,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: expectActions(plancheck.ResourceActionCreate, allAddresses()...),
			},
		},
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: protoV6Factories, Steps: steps})
}

// checkWire checks what the server stored, as a user of the API sees it:
// the name as slug, the flow code base64-encoded, the flow parameters.
func checkWire(srv *testenv.Server) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		ctx := context.Background()
		id, err := stateID(s, "sym_flow.this")
		if err != nil {
			return err
		}
		flow, err := adminClient(srv).read(ctx, "flows", id)
		if err != nil {
			return err
		}
		if flow.str("slug") != "iam_access" {
			return fmt.Errorf("flow slug on the server = %q, want iam_access", flow.str("slug"))
		}
		code, err := base64.StdEncoding.DecodeString(flow.str("implementation"))
		if err != nil || !strings.Contains(string(code), "def get_approvers(event):") {
			return fmt.Errorf("flow implementation on the server is not the base64 of the code: %q (%v)", flow.str("implementation"), err)
		}
		params, _ := flow["params"].(map[string]any)
		strategy, _ := stateID(s, "sym_strategy.iam")
		if params["strategy_id"] != strategy || params["allow_revoke"] != true || params["schedule_deescalation"] != true {
			return fmt.Errorf("flow params on the server = %v", params)
		}
		fields, _ := params["prompt_fields"].([]any)
		if len(fields) != 2 {
			return fmt.Errorf("prompt_fields on the server = %v, want 2 fields", params["prompt_fields"])
		}
		found, err := adminClient(srv).lookup(ctx, "access-targets", "CLOUDWATCH-READONLY", "aws_iam_group")
		if err != nil || len(found) != 1 || found[0].str("settings") != "" {
			if err == nil && len(found) == 1 && found[0].strMap("settings")["iam_group"] == "CloudwatchReadOnlyone" {
				return nil
			}
			return fmt.Errorf("lookup of the target by name: %v %v", found, err)
		}
		return nil
	}
}

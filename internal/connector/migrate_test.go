package connector

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestMigrateFromOriginal is the modules' migration test. A root
// configuration written for the original (testdata/migrate: runtime-
// connector v2 with its input environment_name and the v1.1 addons beside
// it, iam-connector v2, lambda-connector, sso-connector and the seed 003
// entities, plus a runtime-connector v1 with its addons, policy_arns and
// custom_external_id and the runtime's entities in the root, named as our
// module names them; symopsio/sym ~> 3.0)
// is applied to moto with stand-ins of the original's modules
// (testdata/original: their addresses, IAM names and documents), and the sym
// resources' state is put in the original provider's shape. Then only the
// module `source` lines change to terraform/modules/... (and the v1 root's
// runtime entities are moved into the module, docs/migrating.md step 5),
// and it must: init
// under the original's constraints, plan no delete or replace of any role,
// policy, attachment or sym entity (the External ID's generator aside), with
// every original address moved to ours, apply, plan nothing more, and grant
// and revoke a request through the migrated roles. All modules share one
// root, so the AWS provider (about 11 s of CPU per start) starts as few
// times as the proof needs.
func TestMigrateFromOriginal(t *testing.T) {
	moto := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: moto})
	env := append(testenv.TerraformEnv(t), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken, "SYM_ORG=")
	// Module sources are relative paths, as a team's are: the root lives
	// beside a copy of terraform/modules and of the original's stand-ins.
	ours := modulesCopy(t)
	work := filepath.Dir(ours)
	copyTree(t, filepath.Join("testdata", "original"), filepath.Join(work, "original"))
	dir := filepath.Join(work, "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "migrate", "main.tf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(sources map[string]string) {
		t.Helper()
		text := strings.ReplaceAll(string(tmpl), "{{MOTO}}", moto.URL)
		for m, src := range sources {
			text = strings.ReplaceAll(text, "{{"+m+"}}", src)
		}
		if i := strings.Index(text, "{{"); i >= 0 {
			t.Fatalf("unfilled placeholder %s", text[i:min(len(text), i+40)])
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The original's modules, and its provider's state shape.
	write(map[string]string{
		"runtime-connector":           "../original/runtime-connector-v2",
		"runtime-connector-v1":        "../original/runtime-connector-v1",
		"iam-connector":               "../original/iam-connector-v2",
		"secretsmgr-addon":            "../original/secretsmgr-addon-v1",
		"kinesis-firehose-addon":      "../original/kinesis-firehose-addon-v1",
		"kinesis-data-stream-addon":   "../original/kinesis-data-stream-addon-v1",
		"lambda-connector":            "../original/lambda-connector-v1",
		"sso-connector":               "../original/sso-connector-v1",
		"legacy-runtime":              legacyRuntimeInRoot,
		"legacy-runtime-id":           "sym_runtime.legacy.id",
		"runtime-connector-providers": "providers = { aws = aws, sym = sym }",
	})
	testenv.Terraform(t, dir, env, "init", "-input=false")
	testenv.Terraform(t, dir, env, "apply", "-input=false", "-auto-approve")
	toOriginalProviderShape(t, filepath.Join(dir, "terraform.tfstate"))
	ic := iam.NewFromConfig(moto.AWSConfig(t))
	rolesBefore := roleIDs(t, ic)

	// Only the source lines change.
	write(map[string]string{
		"runtime-connector":         "../modules/runtime-connector",
		"runtime-connector-v1":      "../modules/runtime-connector",
		"iam-connector":             "../modules/iam-connector",
		"secretsmgr-addon":          "../modules/secretsmgr-addon",
		"kinesis-firehose-addon":    "../modules/kinesis-firehose-addon",
		"kinesis-data-stream-addon": "../modules/kinesis-data-stream-addon",
		"lambda-connector":          "../modules/lambda-connector",
		"sso-connector":             "../modules/sso-connector",
		// v1: the root's runtime entities are moved into the module, which
		// declares them under the same names (docs/migrating.md step 5).
		"legacy-runtime":    legacyRuntimeMoved,
		"legacy-runtime-id": "module.runtime_connector_legacy.sym_runtime.id",
		// The sym entry leaves the providers map (docs/migrating.md step 5).
		"runtime-connector-providers": "providers = { aws = aws }",
	})
	testenv.Terraform(t, dir, env, "init", "-input=false")
	plan := planJSON(t, dir, env, "migrate.plan")
	for _, c := range plan.changes {
		if (c.Action == "delete" || c.Action == "replace") && !isExternalIDGenerator(c.Resource.Addr) {
			t.Errorf("switching source plans %s of %s (was %s)", c.Action, c.Resource.Addr, c.Previous.Addr)
		}
	}
	const rc, legacy = "module.runtime_connector.", "module.runtime_connector_legacy."
	for to, from := range map[string]string{
		// runtime-connector v2.0.x
		rc + "module.role.aws_iam_role.this":                           rc + "aws_iam_role.sym_runtime_connector_role",
		rc + "module.role.aws_iam_policy.assume_roles":                 rc + "aws_iam_policy.assume_roles",
		rc + "module.role.aws_iam_role_policy_attachment.assume_roles": rc + "aws_iam_role_policy_attachment.attach_assume_roles",
		// iam-connector v2.0.0
		"module.iam_connector.aws_iam_policy.this":                 "module.iam_connector.aws_iam_policy.iam",
		"module.iam_connector.aws_iam_role_policy_attachment.this": "module.iam_connector.aws_iam_role_policy_attachment.iam",
		// sso-connector: the account-assignment policy and its attachment
		"module.sso_connector.aws_iam_policy.sso_account[0]":                 "module.sso_connector.aws_iam_policy.account[0]",
		"module.sso_connector.aws_iam_role_policy_attachment.sso_account[0]": "module.sso_connector.aws_iam_role_policy_attachment.account[0]",
		// the v1.1 addons
		"module.secrets_manager_access.aws_iam_role_policy_attachment.this[0]":     "module.secrets_manager_access.aws_iam_role_policy_attachment.attach_secrets_manager_access[0]",
		"module.kinesis_firehose_access.aws_iam_role_policy_attachment.this[0]":    "module.kinesis_firehose_access.aws_iam_role_policy_attachment.attach_firehose_access[0]",
		"module.kinesis_data_stream_access.aws_iam_role_policy_attachment.this[0]": "module.kinesis_data_stream_access.aws_iam_role_policy_attachment.attach_datastream_access[0]",
		// runtime-connector v1.0.x
		legacy + "module.role.aws_iam_role.this":                                                    legacy + "aws_iam_role.this",
		legacy + "module.role.aws_iam_role_policy_attachment.assume_roles":                          legacy + "aws_iam_role_policy_attachment.assume_roles_attach",
		legacy + "module.role.aws_iam_policy.assume_roles":                                          legacy + "aws_iam_policy.assume_roles",
		legacy + "module.role.module.kinesis_firehose[0].aws_iam_policy.this":                       legacy + "module.aws_kinesis_firehose[0].aws_iam_policy.this",
		legacy + `module.role.aws_iam_role_policy_attachment.extra["extra"]`:                        legacy + `aws_iam_role_policy_attachment.extra_policy_attachments["extra"]`,
		legacy + "module.role.module.secretsmgr[0].aws_iam_policy.this":                             legacy + "module.aws_secretsmgr[0].aws_iam_policy.this",
		legacy + "module.role.module.secretsmgr[0].aws_iam_role_policy_attachment.this[0]":          legacy + "aws_iam_role_policy_attachment.aws_secretsmgr_attach[0]",
		legacy + "module.role.module.kinesis_firehose[0].aws_iam_role_policy_attachment.this[0]":    legacy + "aws_iam_role_policy_attachment.aws_kinesis_firehose_attach[0]",
		legacy + "module.role.module.kinesis_data_stream[0].aws_iam_policy.this":                    legacy + "module.aws_kinesis_data_stream[0].aws_iam_policy.this",
		legacy + "module.role.module.kinesis_data_stream[0].aws_iam_role_policy_attachment.this[0]": legacy + "aws_iam_role_policy_attachment.aws_kinesis_data_stream_attach[0]",
		// v1's runtime entities, declared in the root
		legacy + "sym_integration.runtime_context": "sym_integration.legacy_runtime_context",
		legacy + "sym_runtime.this":                "sym_runtime.legacy",
	} {
		c, ok := plan.change(to)
		if !ok || c.Previous.Addr != from {
			t.Errorf("%s: want it moved from %s; the plan has previous address %q (listed: %v)", to, from, c.Previous.Addr, ok)
		}
	}
	if t.Failed() {
		t.Fatalf("plan after switching the sources:\n%s", plan.text)
	}
	testenv.Terraform(t, dir, env, "apply", "-input=false", "migrate.plan")
	if again := planJSON(t, dir, env, "again.plan"); len(again.changes) > 0 || again.summary != [3]int{} {
		t.Errorf("second plan after the migration is not empty: %v\n%s", again.summary, again.text)
	}

	// The same roles (IAM role ids unchanged: nothing was recreated).
	if after := roleIDs(t, ic); !maps.Equal(after, rolesBefore) {
		t.Errorf("roles before the migration %v, after %v", rolesBefore, after)
	}
	// custom_external_id kept the v1 External ID in the trust policy.
	out, err := ic.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("SymRuntimeLegacy")})
	if err != nil {
		t.Fatal(err)
	}
	if doc := decodeIfNeeded(t, aws.ToString(out.Role.AssumeRolePolicyDocument)); !strings.Contains(doc, "legacy-5f0c1e2d-9a8b-4c7d") {
		t.Errorf("the migrated v1 runtime role lost the External ID kept by custom_external_id: %s", doc)
	}
	// Both migrated runtime roles pass the check the server runs before
	// their first grant (v1's with its addons and policy_arns too).
	for _, name := range []string{"prod-runtime-context", "legacy-runtime-context"} {
		var found []struct {
			Settings map[string]string `json:"settings"`
		}
		if err := api.NewClient(srv.URL, srv.AdminToken).Do(context.Background(), "GET", "/entities/integrations?slug="+name, nil, &found); err != nil || len(found) != 1 {
			t.Fatalf("integration %s on the server: %v %v", name, found, err)
		}
		if rep, err := VerifyRuntime(context.Background(), ic, found[0].Settings, nil); err != nil {
			t.Errorf("the migrated runtime role of %s does not pass the server's check: %v\n%s", name, err, rep.Text())
		}
	}
	grantThroughMigratedRoles(t, moto, srv)
}

// legacyRuntimeInRoot is how a team on runtime-connector v1 declared the
// runtime's entities in its root, under the names our module gives them
// (<env>-runtime-context, <env>); legacyRuntimeMoved is what
// docs/migrating.md step 5 has it write instead, so that switching the
// source neither creates a second runtime of that name (the server answers
// "already exists") nor destroys the one its environment uses.
const (
	legacyRuntimeInRoot = `resource "sym_integration" "legacy_runtime_context" {
  type        = "permission_context"
  name        = "legacy-runtime-context"
  external_id = module.runtime_connector_legacy.account_id
  settings    = module.runtime_connector_legacy.settings
}

resource "sym_runtime" "legacy" {
  name       = "legacy"
  context_id = sym_integration.legacy_runtime_context.id
}`
	legacyRuntimeMoved = `moved {
  from = sym_integration.legacy_runtime_context
  to   = module.runtime_connector_legacy.sym_integration.runtime_context
}

moved {
  from = sym_runtime.legacy
  to   = module.runtime_connector_legacy.sym_runtime.this
}`
)

// roleIDs answers the RoleId of every /sym/ role by name.
func roleIDs(t *testing.T, ic *iam.Client) map[string]string {
	t.Helper()
	out, err := ic.ListRoles(context.Background(), &iam.ListRolesInput{PathPrefix: aws.String("/sym/")})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range out.Roles {
		ids[aws.ToString(r.RoleName)] = aws.ToString(r.RoleId)
	}
	for _, want := range []string{"SymRuntimeProd", "SymIAMProd", "SymLambdaProd", "SymSSOProd", "SymRuntimeLegacy"} {
		if ids[want] == "" {
			t.Fatalf("no role %s in %v", want, ids)
		}
	}
	return ids
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}

// isExternalIDGenerator: the original's random_uuid (and the stand-in for
// it) is the one object a migration may drop; custom_external_id keeps its
// value (docs/migrating.md).
func isExternalIDGenerator(addr string) bool {
	return strings.HasSuffix(addr, "random_uuid.external_id") || strings.HasSuffix(addr, "module.runtime_connector.terraform_data.external_id")
}

// plannedChange is one "planned_change" message of `terraform plan -json`.
type plannedChange struct {
	Resource struct {
		Addr string `json:"addr"`
	} `json:"resource"`
	Previous struct {
		Addr string `json:"addr"`
	} `json:"previous_resource"`
	Action string `json:"action"`
}

type jsonPlan struct {
	changes []plannedChange
	summary [3]int // add, change, remove
	text    string
}

func (p jsonPlan) change(addr string) (plannedChange, bool) {
	for _, c := range p.changes {
		if c.Resource.Addr == addr {
			return c, true
		}
	}
	return plannedChange{}, false
}

// planJSON runs `terraform plan -json -out=file` and reads its planned
// changes (a move, an update, a replace, ...) from the machine-readable
// stream, without a `terraform show` (which would start every provider
// once more).
func planJSON(t *testing.T, dir string, env []string, file string) jsonPlan {
	t.Helper()
	out := testenv.Terraform(t, dir, env, "plan", "-input=false", "-json", "-out="+file)
	var p jsonPlan
	summary := false
	for _, line := range strings.Split(out, "\n") {
		var msg struct {
			Type    string          `json:"type"`
			Message string          `json:"@message"`
			Change  json.RawMessage `json:"change"`
			Changes struct {
				Add, Change, Remove int
			} `json:"changes"`
		}
		if json.Unmarshal([]byte(line), &msg) != nil {
			continue
		}
		switch msg.Type {
		case "planned_change":
			var c plannedChange
			if err := json.Unmarshal(msg.Change, &c); err != nil {
				t.Fatalf("planned_change %s: %v", msg.Change, err)
			}
			p.changes = append(p.changes, c)
		case "change_summary":
			p.summary = [3]int{msg.Changes.Add, msg.Changes.Change, msg.Changes.Remove}
			summary = true
		}
		if msg.Message != "" {
			p.text += msg.Message + "\n"
		}
	}
	if !summary {
		t.Fatalf("terraform plan -json printed no change summary:\n%s", out)
	}
	return p
}

// sdkStringAttrs are the string attributes of the original provider's
// resources that its SDKv2 state holds as "" when unset.
var sdkStringAttrs = map[string]bool{"label": true, "external_id": true, "integration_id": true, "error_logger_id": true,
	"runtime_id": true, "strategy_id": true, "additional_header_text": true, "default": true, "implementation": true}

// toOriginalProviderShape rewrites the sym resources of a state as the
// original provider (SDKv2, symopsio/sym 3.x) leaves them: unset strings as
// "", no attributes that provider does not have (visible,
// include_decision_message), its private data, sym_flow at schema version
// 1 with params a one-element list. The provider's own test
// (internal/provider TestOriginalState) covers every resource's fixture;
// this keeps the module migrations honest about the same shape.
func toOriginalProviderShape(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["serial"] = st["serial"].(float64) + 1
	n := 0
	for _, r := range st["resources"].([]any) {
		res := r.(map[string]any)
		if !strings.HasPrefix(res["type"].(string), "sym_") || res["mode"] != "managed" {
			continue
		}
		for _, in := range res["instances"].([]any) {
			inst := in.(map[string]any)
			inst["private"] = "bnVsbA=="
			if res["type"] == "sym_flow" {
				inst["private"] = "eyJzY2hlbWFfdmVyc2lvbiI6IjEifQ=="
			}
			sdkShape(inst["attributes"])
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no sym resources in %s", path)
	}
	b, _ = json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sdkShape(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "visible")
		delete(x, "include_decision_message")
		for k, e := range x {
			if e == nil && sdkStringAttrs[k] {
				x[k] = ""
			}
			sdkShape(e)
		}
	case []any:
		for _, e := range x {
			sdkShape(e)
		}
	}
}

// grantThroughMigratedRoles runs a request of the migrated configuration's
// flow: the server assumes the migrated runtime role, chains into the
// migrated SymIAMProd role and adds the user to the group, then removes her.
func grantThroughMigratedRoles(t *testing.T, moto *testenv.Moto, srv *testenv.Server) {
	t.Helper()
	ctx := context.Background()
	ic := iam.NewFromConfig(moto.AWSConfig(t))
	if _, err := ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("prod-admins"), Path: aws.String("/sym/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mia")}); err != nil {
		t.Fatal(err)
	}
	admin := api.NewClient(srv.URL, srv.AdminToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.Do(ctx, "POST", "/users", map[string]any{"email": "mia@example.com", "identities": map[string]string{"aws_iam": "mia"}}, nil))
	grantAndRevoke(t, moto, srv, "aws-access", "mia@example.com", "prod-admins", "mia", "lead@example.com")
}

// TestMigrateWithoutTheRandomProvider: every original runtime-connector
// left random_uuid.external_id in the state, so `terraform init -upgrade`
// (docs/migrating.md step 6) must install hashicorp/random, which a CLI
// configuration reading hashicorp/* from a filesystem mirror (the one make
// install-provider writes, and this test's) may not have. Step 4's way
// out, removing the generator from the state once its value is noted, must
// let init through without it.
func TestMigrateWithoutTheRandomProvider(t *testing.T) {
	const stateRm = "terraform state rm 'module.runtime_connector.random_uuid.external_id'"
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "migrating.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), stateRm) {
		t.Fatalf("docs/migrating.md does not say %s", stateRm)
	}
	env := testenv.TerraformEnv(t)
	dir := t.TempDir()
	root := "terraform {\n  required_providers {\n    sym = {\n      source  = \"symopsio/sym\"\n      version = \"~> 3.0\"\n    }\n  }\n}\n"
	state := `{"version": 4, "terraform_version": "1.5.7", "serial": 3, "lineage": "0c7b5f0e-1a2b-4c3d-9e8f-001122334455", "outputs": {},
 "resources": [{"module": "module.runtime_connector", "mode": "managed", "type": "random_uuid", "name": "external_id",
   "provider": "provider[\"registry.terraform.io/hashicorp/random\"]",
   "instances": [{"schema_version": 0, "attributes": {"id": "5b1b2c8e-7a4e-4f61-9d2a-0c6f0f1f2a3b", "keepers": null,
     "result": "5b1b2c8e-7a4e-4f61-9d2a-0c6f0f1f2a3b"}, "sensitive_attributes": []}]}]}`
	for name, text := range map[string]string{"main.tf": root, "terraform.tfstate": state} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Terraform(t, dir, env, strings.Fields(strings.ReplaceAll(strings.TrimPrefix(stateRm, "terraform "), "'", ""))...)
	testenv.Terraform(t, dir, env, "init", "-upgrade", "-input=false")
}

package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestOriginalState is the provider's migration test: a configuration
// written for the original provider (testdata/original/config: symopsio/sym
// with the original's version constraints, a provider block with org only,
// one of each of its eleven resources) meets a state in the original
// provider's shape (testdata/original/state: one fixture per resource,
// written from the original's documented schema: SDKv2 empty strings, schema
// version 1 for sym_flow with params as a one-element list, and a sym_flow
// still at version 0 from before 2.0). Our provider must init under those
// constraints, read that state, plan no change, apply, plan no change again,
// and import the flows filter by the organisation's slug.
func TestOriginalState(t *testing.T) {
	srv := startServer(t)
	env := append(testenv.TerraformEnv(t), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "original", "config"), dir)

	testenv.Terraform(t, dir, env, "init", "-input=false")
	if lock, err := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl")); err != nil ||
		!strings.Contains(string(lock), `"registry.terraform.io/symopsio/sym"`) || !strings.Contains(string(lock), `version     = "`+testenv.OriginalProviderVersion+`"`) {
		t.Fatalf("init did not select symopsio/sym %s under the original's constraints: %s %v", testenv.OriginalProviderVersion, lock, err)
	}
	// The entities the original provider made: created here by ours, then
	// the state is replaced by the original's shape of the same entities.
	testenv.Terraform(t, dir, env, "apply", "-input=false", "-auto-approve")
	ids := stateIDs(t, filepath.Join(dir, "terraform.tfstate"))
	writeOriginalState(t, dir, ids)

	plan := testenv.Terraform(t, dir, env, "plan", "-input=false", "-out=migrate.plan")
	assertNoChanges(t, dir, env, "migrate.plan", plan)
	testenv.Terraform(t, dir, env, "apply", "-input=false", "migrate.plan")
	// The state is now ours; its flows are at version 1 with params a list.
	st := readState(t, filepath.Join(dir, "terraform.tfstate"))
	for _, r := range st.Resources {
		if r.Type == "sym_flow" && (r.Instances[0].SchemaVersion != 1 || !strings.HasPrefix(strings.TrimSpace(string(r.Instances[0].Attributes["params"])), "[")) {
			t.Errorf("sym_flow.%s after apply: schema version %d, params %s; want 1 and a list", r.Name, r.Instances[0].SchemaVersion, r.Instances[0].Attributes["params"])
		}
	}
	testenv.Terraform(t, dir, env, "plan", "-input=false", "-out=again.plan")
	assertNoChanges(t, dir, env, "again.plan", "")

	testenv.Terraform(t, dir, env, "state", "rm", "sym_flows_filter.this")
	testenv.Terraform(t, dir, env, "import", "-input=false", "sym_flows_filter.this", "default")
	testenv.Terraform(t, dir, env, "plan", "-input=false", "-out=import.plan")
	assertNoChanges(t, dir, env, "import.plan", "")

	// One flows filter per organisation: a second one is refused.
	_, err := adminClient(srv).create(context.Background(), "flows-filter", entity{"implementation": "cGFzcw=="})
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(err.Error(), "already has a flows filter") {
		t.Errorf("second flows filter: %v, want 409 already has a flows filter", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type tfState struct {
	Version   int               `json:"version"`
	TFVersion string            `json:"terraform_version"`
	Serial    int               `json:"serial"`
	Lineage   string            `json:"lineage"`
	Outputs   map[string]any    `json:"outputs"`
	Resources []tfStateResource `json:"resources"`
}

type tfStateResource struct {
	Module    string `json:"module,omitempty"`
	Mode      string `json:"mode"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	Provider  string `json:"provider"`
	Instances []struct {
		IndexKey      any                        `json:"index_key,omitempty"`
		SchemaVersion int                        `json:"schema_version"`
		Attributes    map[string]json.RawMessage `json:"attributes"`
	} `json:"instances"`
}

func readState(t *testing.T, path string) tfState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st tfState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// stateIDs answers the id of every resource in a state, by address.
func stateIDs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range readState(t, path).Resources {
		var id string
		_ = json.Unmarshal(r.Instances[0].Attributes["id"], &id)
		out[r.Type+"."+r.Name] = id
	}
	return out
}

var idPlaceholder = regexp.MustCompile(`\{\{ID:([a-z_.]+)\}\}`)

// writeOriginalState replaces dir's state with the fixtures of
// testdata/original/state, filled with the ids of the entities.
func writeOriginalState(t *testing.T, dir string, ids map[string]string) {
	t.Helper()
	cur := readState(t, filepath.Join(dir, "terraform.tfstate"))
	impl, _ := os.ReadFile(filepath.Join(dir, "impl.py"))
	filter, _ := os.ReadFile(filepath.Join(dir, "flows_filter.py"))
	implJSON, _ := json.Marshal(string(impl))
	filterJSON, _ := json.Marshal(string(filter))
	files, err := filepath.Glob(filepath.Join("testdata", "original", "state", "*.json"))
	if err != nil || len(files) != 11 {
		t.Fatalf("want a state fixture per resource (11), found %d: %v", len(files), err)
	}
	var resources []json.RawMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := idPlaceholder.ReplaceAllStringFunc(string(b), func(m string) string {
			addr := idPlaceholder.FindStringSubmatch(m)[1]
			id, ok := ids[addr]
			if !ok {
				t.Fatalf("%s names %s, which the configuration does not declare", f, addr)
			}
			return id
		})
		s = strings.NewReplacer("{{IMPL}}", string(implJSON), "{{FILTER_IMPL}}", string(filterJSON)).Replace(s)
		var rs []json.RawMessage
		if err := json.Unmarshal([]byte(s), &rs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		resources = append(resources, rs...)
	}
	state := map[string]any{
		"version": 4, "terraform_version": "1.5.7", "serial": cur.Serial + 1, "lineage": cur.Lineage,
		"outputs": map[string]any{}, "resources": resources, "check_results": nil,
	}
	b, _ := json.MarshalIndent(state, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// planJSON is the part of `terraform show -json PLAN` the migration tests
// read.
type planJSON struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Change  struct {
			Actions []string `json:"actions"`
		} `json:"change"`
	} `json:"resource_changes"`
}

// assertNoChanges fails unless every resource change of the saved plan is
// a no-op.
func assertNoChanges(t *testing.T, dir string, env []string, plan, text string) {
	t.Helper()
	var p planJSON
	if err := json.Unmarshal([]byte(testenv.Terraform(t, dir, env, "show", "-json", plan)), &p); err != nil {
		t.Fatalf("terraform show -json %s: %v", plan, err)
	}
	if len(p.ResourceChanges) == 0 {
		t.Fatalf("plan %s lists no resources", plan)
	}
	for _, rc := range p.ResourceChanges {
		if !slices.Equal(rc.Change.Actions, []string{"no-op"}) {
			t.Errorf("plan %s: %s %v, want no change\n%s", plan, rc.Address, rc.Change.Actions, text)
		}
	}
}

package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/testenv"
)

// TestMetricsAreInTheOperationsGuide holds docs/operations.md's table of
// metrics to the server: every sym_ metric the server registers has a row
// there, named as the server names it and saying what its help says (so an
// operator reading the guide knows what to alert on, and a metric renamed
// or added shows here), and the table names no metric the server does not
// have.
func TestMetricsAreInTheOperationsGuide(t *testing.T) {
	s := testenv.StartServer(t)
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	help, err := server.MetricHelp(s.Instance)
	if err != nil {
		t.Fatal(err)
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if m := regexp.MustCompile("^\\| `(sym_[a-z_]+)[`{]").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	var names []string
	for name := range help {
		if strings.HasPrefix(name, "sym_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) < 10 {
		t.Fatalf("the server registered only %v", names)
	}
	for _, name := range names {
		row, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("docs/operations.md has no row for %s (%q)", name, help[name])
		case !strings.Contains(row, help[name]):
			t.Errorf("docs/operations.md's row for %s does not say what its help says, %q:\n%s", name, help[name], row)
		}
	}
	for name := range rows {
		if _, ok := help[name]; !ok {
			t.Errorf("docs/operations.md names %s, which the server does not have", name)
		}
	}
}

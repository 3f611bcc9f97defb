package docstest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/model"
)

// TestArchitectureImportTable: docs/architecture.md's table "Which way the
// imports go" has a row for every package of the module, and each row names
// exactly the packages of ours that the package's non-test files import.
func TestArchitectureImportTable(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	actual := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := shortName(fields[0])
		var ours []string
		for _, imp := range fields[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				ours = append(ours, shortName(imp))
			}
		}
		slices.Sort(ours)
		actual[pkg] = ours
	}
	if len(actual) < 20 {
		t.Fatalf("go list found only %v", actual)
	}

	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	table := map[string][]string{}
	row := regexp.MustCompile("^\\| `([a-z/-]+)` \\| ([^|]*) \\|")
	in := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Which way the imports go"
			continue
		}
		m := row.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		var names []string
		if list := strings.TrimSpace(m[2]); list != "nothing" {
			for _, n := range strings.Split(list, ",") {
				names = append(names, strings.TrimSpace(n))
			}
		}
		slices.Sort(names)
		table[m[1]] = names
	}
	if len(table) == 0 {
		t.Fatal(`docs/architecture.md has no table under "## Which way the imports go" (rows "| ` + "`package`" + ` | imports, comma-separated, or nothing | why |")`)
	}
	for pkg, imports := range actual {
		documented, ok := table[pkg]
		switch {
		case !ok:
			t.Errorf("docs/architecture.md's import table has no row for %s (it imports %s)", pkg, orNothing(imports))
		case !slices.Equal(documented, imports):
			t.Errorf("docs/architecture.md says %s imports %s; it imports %s", pkg, orNothing(documented), orNothing(imports))
		}
	}
	for pkg := range table {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("docs/architecture.md's import table has a row for %s, which is not a package of the module", pkg)
		}
	}
}

// shortName is how the import table names a package: cmd/... as it is,
// internal/x as x, the module's root packages (examples, terraform) by
// their directory.
func shortName(importPath string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
	return strings.TrimPrefix(p, "internal/")
}

func orNothing(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// TestRelativeLinksResolve: every relative link in the repository's
// Markdown files leads to a file that exists and, with an #anchor, to a
// heading of that file; every docs/... path, "decision NNN" and `TestName`
// named in their text exists.
func TestRelativeLinksResolve(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("git", "ls-files", "*.md")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	decisions, err := filepath.Glob(filepath.Join(root, "docs", "decisions", "[0-9][0-9][0-9]-*.md"))
	if err != nil || len(decisions) == 0 {
		t.Fatalf("no decisions under docs/decisions (%v)", err)
	}
	decided := map[string]bool{}
	for _, d := range decisions {
		decided[filepath.Base(d)[:3]] = true
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	docPath := regexp.MustCompile("(?:^|[\\s`(])(docs/[\\w./-]*\\w\\.md)")
	decision := regexp.MustCompile(`\b[Dd]ecisions? (\d{3})\b`)
	// The tests the documents name as their proof must exist.
	grep := exec.Command("git", "grep", "-h", "-o", "-E", `^func Test[A-Za-z0-9_]+\(`, "--", "*_test.go")
	grep.Dir = root
	funcs, err := grep.Output()
	if err != nil {
		t.Fatalf("git grep: %v", err)
	}
	testNamed := regexp.MustCompile("`(Test[A-Z][A-Za-z0-9_]*)`")
	files := strings.Fields(string(out))
	checked := 0
	for _, file := range files {
		if strings.Contains(file, "/testdata/") {
			continue
		}
		text, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(file)
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			to := file
			if path != "" {
				to = filepath.Join(dir, path)
			}
			if _, err := os.Stat(filepath.Join(root, to)); err != nil {
				t.Errorf("%s links to %s, which does not exist", file, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(to, ".md") && !slices.Contains(anchors(t, filepath.Join(root, to)), anchor) {
				t.Errorf("%s links to %s: %s has no heading whose anchor is #%s", file, target, to, anchor)
			}
		}
		for _, m := range docPath.FindAllStringSubmatch(string(text), -1) {
			checked++
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s names %s, which does not exist", file, m[1])
			}
		}
		for _, m := range decision.FindAllStringSubmatch(string(text), -1) {
			checked++
			if !decided[m[1]] {
				t.Errorf("%s names %s; docs/decisions has no %s-*.md", file, m[0], m[1])
			}
		}
		for _, m := range testNamed.FindAllStringSubmatch(string(text), -1) {
			if !strings.Contains(string(funcs), "func "+m[1]+"(") {
				t.Errorf("%s names the test %s, which no _test.go file has", file, m[1])
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d links and references checked in %d files: is the pattern still right?", checked, len(files))
	}
}

// anchors answers the anchors GitHub makes of a Markdown file's headings
// (lower case, punctuation dropped, spaces as -), and the explicit
// <a id="..."> / name="..." anchors that tfplugindocs writes.
func anchors(t *testing.T, path string) []string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	drop := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	for _, line := range strings.Split(string(text), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			out = append(out, strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-"))
		}
	}
	for _, m := range regexp.MustCompile(`<a (?:id|name)="([^"]+)"`).FindAllStringSubmatch(string(text), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestReadmeListsEveryDocument: README.md's "Documentation" section names
// every page of docs/ (docs/web.md, the web app and the Slack app, was
// reachable from no page a newcomer starts at).
func TestReadmeListsEveryDocument(t *testing.T) {
	root := moduleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Documentation\n")
	if !ok {
		t.Fatal(`README.md has no "## Documentation" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) < 5 {
		t.Fatalf("docs/*.md: %v %v", pages, err)
	}
	for _, p := range pages {
		if name := "docs/" + filepath.Base(p); !strings.Contains(section, name) {
			t.Errorf("README.md's Documentation section does not name %s", name)
		}
	}
}

// TestAPIDocNamesEveryEntityType: docs/api.md names every type the server
// accepts for a typed entity kind (aws_sso_group targets were accepted, and
// documented for the provider, but not in the API's reference).
func TestAPIDocNamesEveryEntityType(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, kind := range model.Kinds {
		for _, typ := range kind.Types {
			n++
			if !strings.Contains(string(doc), "`"+typ+"`") {
				t.Errorf("docs/api.md does not name %s of type `%s`", name, typ)
			}
		}
	}
	for strategy, targets := range model.StrategyTargetTypes {
		for _, typ := range targets {
			if !regexp.MustCompile("`" + strategy + "`\\s+\\([^)]*`" + typ + "`").Match(doc) {
				t.Errorf("docs/api.md does not say a `%s` strategy takes `%s` targets (as \"`%s` (... `%s` ...)\")", strategy, typ, strategy, typ)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d entity types in model.Kinds?", n)
	}
}

package docstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// TestDocumentedFlagsExist: every `--flag` that README.md, docs/*.md and
// the quickstarts' READMEs name is a flag of a sym command (a renamed or removed flag shows here),
// and where they give its default, "(default 90 days)", "(5 minutes)", it is
// the default the command's --help prints.
func TestDocumentedFlagsExist(t *testing.T) {
	root := moduleRoot(t)
	defaults := symFlags(t, testenv.SymBinary(t))
	if len(defaults) < 40 {
		t.Fatalf("sym's commands have only %d flags?", len(defaults))
	}
	files := []string{filepath.Join(root, "README.md")}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, docs...)
	quickstarts, err := filepath.Glob(filepath.Join(root, "examples", "*", "README.md"))
	if err != nil || len(quickstarts) == 0 {
		t.Fatalf("examples/*/README.md: %v %v", quickstarts, err)
	}
	files = append(files, quickstarts...)
	named := regexp.MustCompile("`--([a-z][a-z0-9-]*)[^`]*`(?:\\s\\((?:default )?([^,;)]*))?")
	amount := regexp.MustCompile(`^(\d+) ?(s|seconds?|minutes?|hours?|days?)$`)
	checked := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		for _, m := range named.FindAllStringSubmatch(string(text), -1) {
			flag, said := m[1], strings.Trim(m[2], "` ")
			known, ok := defaults[flag]
			checked++
			if !ok {
				t.Errorf("%s names --%s, which no sym command has", rel, flag)
				continue
			}
			a := amount.FindStringSubmatch(said)
			if a == nil && !strings.HasPrefix(said, "/") {
				continue // not a default: "(12-digit ids)"
			}
			want := said
			if a != nil {
				n, _ := strconv.Atoi(a[1])
				unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[a[2][0]]
				want = (time.Duration(n) * unit).String()
			}
			if !slices.Contains(known, want) {
				t.Errorf("%s says --%s defaults to %q (%s); sym's --help says %q", rel, flag, said, want, known)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d flags named in README.md and docs/*.md: is the pattern still right?", checked)
	}
}

// symFlags walks `sym --help` and each command's --help and answers every
// flag's defaults as the commands print them (a duration as Go writes it),
// "" for a flag without one.
func symFlags(t *testing.T, bin string) map[string][]string {
	t.Helper()
	flags := map[string][]string{}
	line := regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)(?: \w+)?\s{2,}.*?(?:\(default "?([^")]*)"?\))?$`)
	var walk func(args []string)
	walk = func(args []string) {
		out, err := exec.Command(bin, append(args, "--help")...).Output()
		if err != nil {
			t.Fatalf("sym %s --help: %v", strings.Join(args, " "), err)
		}
		section := ""
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
				section = l
				continue
			}
			switch section {
			case "Available Commands:":
				if f := strings.Fields(l); len(f) > 0 && f[0] != "help" && f[0] != "completion" {
					walk(append(slices.Clone(args), f[0]))
				}
			case "Flags:", "Global Flags:":
				if m := line.FindStringSubmatch(l); m != nil {
					def := m[2]
					if d, err := time.ParseDuration(def); err == nil {
						def = d.String()
					}
					flags[m[1]] = append(flags[m[1]], def)
				}
			}
		}
	}
	walk(nil)
	return flags
}

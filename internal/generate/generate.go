// Package generate writes Terraform projects for sym: the AWS IAM quickstart
// (`sym generate aws-iam`) and the settings a project needs to reach a sym
// server (`sym init`).
//
// It renders files embedded in the binary (examples.AWSIAMQuickstart and
// terraform.Modules) and writes them; it never runs Terraform, never talks to
// a server, and never overwrites a file unless asked to.
package generate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// File is one file of a project, by its slash-separated path relative to
// the project's directory.
type File struct {
	Path string
	Data []byte
	// Others are contents that count as this file too: what the generator
	// wrote for the project's other environments (a shared README names its
	// environment). When the file exists with one of them, Write keeps it,
	// so that a second environment can join a project.
	Others [][]byte
	// Secret files (sym.env: it holds a token once filled in) are written
	// readable by their owner only.
	Secret bool
}

// ExistsError is a refusal to overwrite files that already exist with other
// contents.
type ExistsError struct {
	Dir   string
	Paths []string // relative to Dir, in order
}

func (e *ExistsError) Error() string {
	first := filepath.Join(e.Dir, filepath.FromSlash(e.Paths[0]))
	more := ""
	if n := len(e.Paths) - 1; n == 1 {
		more = " (and 1 other file)"
	} else if n > 1 {
		more = fmt.Sprintf(" (and %d other files)", n)
	}
	return fmt.Sprintf("refusing to overwrite %s%s: it exists with other contents; use --force to overwrite, or choose another --dir", first, more)
}

// Result says what Write did with each file.
type Result struct {
	Written   []string // created or overwritten
	Unchanged []string // already there with the same contents
	Kept      []string // there as generated for another environment, left alone
}

// Write writes files under dir. A file that exists with the same contents is
// left alone; one that exists with other contents makes Write fail with an
// *ExistsError before it writes anything, unless force is set, or unless
// those contents are one of the file's Others: then it is kept as it is.
func Write(dir string, files []File, force bool) (Result, error) {
	var res Result
	var conflicts []string
	write := make([]File, 0, len(files))
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(p)
		switch {
		case err == nil && bytes.Equal(old, f.Data):
			res.Unchanged = append(res.Unchanged, f.Path)
			continue
		case err == nil && !force && slices.ContainsFunc(f.Others, func(o []byte) bool { return bytes.Equal(old, o) }):
			res.Kept = append(res.Kept, f.Path)
			continue
		case err == nil:
			conflicts = append(conflicts, f.Path)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return res, fmt.Errorf("read %s: %w", p, err)
		}
		write = append(write, f)
	}
	if len(conflicts) > 0 && !force {
		return Result{}, &ExistsError{Dir: dir, Paths: conflicts}
	}
	for _, f := range write {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return res, err
		}
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		if err := os.WriteFile(p, f.Data, mode); err != nil {
			return res, fmt.Errorf("write %s: %w", p, err)
		}
		// WriteFile keeps an existing file's mode: set it.
		if err := os.Chmod(p, mode); err != nil {
			return res, fmt.Errorf("chmod %s: %w", p, err)
		}
		res.Written = append(res.Written, f.Path)
	}
	return res, nil
}

// envName is what the connector modules accept as an environment name.
var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// CheckEnvironment refuses environment names the modules would refuse.
func CheckEnvironment(env string) error {
	if !envName.MatchString(env) {
		return fmt.Errorf("environment %q: use 1 to 32 lowercase letters, digits, hyphens or underscores, starting with a letter or digit (it becomes part of IAM names), like prod or sandbox-2", env)
	}
	return nil
}

// sourceLine finds a module's source argument.
var sourceLine = regexp.MustCompile(`(?m)^(\s*source\s*=\s*")([^"]*)(")`)

func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

// relSlash answers the relative slash path from dir to target, both
// slash-separated and relative to the same root.
func relSlash(dir, target string) string {
	r, err := filepath.Rel(filepath.FromSlash("/"+dir), filepath.FromSlash("/"+target))
	if err != nil {
		// Both are absolute under the same root: Rel cannot fail.
		panic(err)
	}
	r = filepath.ToSlash(r)
	if !strings.HasPrefix(r, "../") && r != ".." {
		r = "./" + r
	}
	return r
}

// readTree reads every file of fsys under root, by path relative to root.
func readTree(fsys fs.FS, root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, root+"/")] = b
		return nil
	})
	return out, err
}

func sortedPaths[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// moduleDirs answers the module directories of tree (paths relative to the
// tree's root) that start needs, directly or through other modules, by
// following local module sources. A source that leaves the tree is an error.
func moduleDirs(tree map[string][]byte, start []string) ([]string, error) {
	need := map[string]bool{}
	queue := slices.Clone(start)
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if need[dir] {
			continue
		}
		need[dir] = true
		found := false
		for _, p := range sortedPaths(tree) {
			if path.Dir(p) != dir || !strings.HasSuffix(p, ".tf") {
				continue
			}
			found = true
			for _, m := range sourceLine.FindAllSubmatch(tree[p], -1) {
				src := string(m[2])
				if !isLocalSource(src) {
					continue
				}
				next := path.Join(dir, src)
				if next == ".." || strings.HasPrefix(next, "../") {
					return nil, fmt.Errorf("%s: module source %q leaves the embedded modules", p, src)
				}
				queue = append(queue, next)
			}
		}
		if !found {
			return nil, fmt.Errorf("module %s: no .tf files among the embedded modules", dir)
		}
	}
	return sortedPaths(need), nil
}

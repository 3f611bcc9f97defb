// Package docstest holds what a newcomer reads and runs first to what the
// code does: docs/architecture.md's import table to `go list`, every
// relative link in the Markdown files to a file and heading that exist, the
// flags and defaults the docs name to `sym --help`, the provider examples
// to `terraform validate`, scripts/check-tools.sh's and
// scripts/install-provider.sh's advice to what works, and the Makefile's
// lint and help to what they say.
package docstest

import (
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

const module = "github.com/opensym/sym"

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

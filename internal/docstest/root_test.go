// Package docstest holds the documents a newcomer reads to what the code
// does: docs/architecture.md's import table to `go list`, every relative
// link in the Markdown files to a file and heading that exist, the provider
// examples to `terraform validate`, and scripts/check-tools.sh's advice to
// a command that works.
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

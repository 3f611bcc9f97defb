// Package terraform carries this repository's Terraform modules inside the
// sym binary, so that `sym generate` can write a project that needs nothing
// but the binary (see docs/decisions/004-generate-embedded-files.md).
package terraform

import "embed"

// Modules holds the .tf files of every module under modules/, and of the
// modules nested in a module's own modules/ directory. Tests, lock files and
// .terraform directories stay out: only the patterns below are embedded.
//
//go:embed modules/*/*.tf modules/*/modules/*/*.tf
var Modules embed.FS

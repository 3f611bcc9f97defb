package generate

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DefaultAPIURL is where `sym server` listens unless told otherwise.
const DefaultAPIURL = "http://127.0.0.1:8420"

// DefaultOrg is the org a generated project names when none is given:
// empty, which makes the provider use the org of the server SYM_API_URL
// points at (and an org set later must match it).
const DefaultOrg = ""

// InitOptions tune Init.
type InitOptions struct {
	Org    string // default DefaultOrg: the server's
	APIURL string // default DefaultAPIURL
}

var orgName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// CheckOrg refuses an org name sym server could not have been started with;
// empty (the server's own) is fine.
func CheckOrg(org string) error {
	if org != "" && !orgName.MatchString(org) {
		return fmt.Errorf("org %q: use letters, digits, and . _ - (the name sym server was started with, --org)", org)
	}
	return nil
}

var requiredProviders = regexp.MustCompile(`(?m)^\s*required_providers\s*\{`)

// Init renders what a Terraform root directory needs to reach a sym server:
// sym.tf (the provider's requirement and configuration) and sym.env (the
// server's URL, a place for the token, and how Terraform finds the provider).
// When another .tf file of dir already declares required_providers (a module
// may declare it once), sym.tf leaves the requirement to that file, and the
// notes say what to add there if it lacks sym.
func Init(dir string, o InitOptions) (files []File, notes []string, err error) {
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if err := CheckOrg(o.Org); err != nil {
		return nil, nil, err
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("api URL %q: give the sym server's base URL, like %s", o.APIURL, DefaultAPIURL)
	}

	declared, err := filesDeclaringRequiredProviders(dir)
	if err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	b.WriteString(symTFHeader)
	if len(declared) == 0 {
		b.WriteString(symTFRequirement)
	} else if !mentionsSymProvider(dir, declared) {
		notes = append(notes, fmt.Sprintf("%s declares required_providers without sym: add\n    sym = {\n      source  = \"opensym/sym\"\n      version = \">= 0.1.0\"\n    }\n  to it (a module may declare required_providers only once)", strings.Join(declared, ", ")))
	}
	fmt.Fprintf(&b, symTFProvider, o.Org)
	files = append(files, File{Path: "sym.tf", Data: []byte(b.String())})
	files = append(files, File{Path: "sym.env", Data: fmt.Appendf(nil, symEnv, o.APIURL), Secret: true})
	return files, notes, nil
}

// filesDeclaringRequiredProviders names the .tf files of dir but sym.tf that
// declare required_providers.
func filesDeclaringRequiredProviders(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		if filepath.Base(p) == "sym.tf" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if requiredProviders.Match(b) {
			out = append(out, filepath.Base(p))
		}
	}
	slices.Sort(out)
	return out, nil
}

func mentionsSymProvider(dir string, names []string) bool {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil && (strings.Contains(string(b), `"opensym/sym"`) || strings.Contains(string(b), `"symopsio/sym"`)) {
			return true
		}
	}
	return false
}

const symTFHeader = `# How Terraform reaches your sym server (` + "`sym init`" + ` writes this file).
#
# The server's address comes from the environment variable SYM_API_URL and
# its API token from SYM_JWT (see sym.env); neither belongs in a file under
# version control.
`

const symTFRequirement = `
terraform {
  required_providers {
    sym = {
      source  = "opensym/sym"
      version = ">= 0.1.0"
    }
  }
}
`

const symTFProvider = `
variable "sym_org" {
  description = "The organisation your sym server runs (the --org it was started with). Empty: whatever org the server at SYM_API_URL runs."
  type        = string
  default     = %q
}

provider "sym" {
  org = var.sym_org
}
`

const symEnv = `# Settings for Terraform's sym provider and the sym CLI (written by sym init).
# Load them into your shell with:
#   set -a; . ./sym.env; set +a
# This file holds an API token once you fill it in: keep it out of version
# control.

# The sym server's base URL.
SYM_API_URL=%s

# An API token. An admin issues one with: sym tokens issue you@example.com
SYM_JWT=

# Terraform installs the sym provider from a local filesystem mirror, never
# from a registry: run make install-provider in the sym repository (or
# scripts/install-provider.sh); it writes the CLI configuration that uses the
# mirror to ~/.terraform.d/sym.tfrc (or $SYM_TF_CLI_CONFIG), which this names:
# TF_CLI_CONFIG_FILE=$HOME/.terraform.d/sym.tfrc
`

#!/bin/sh
# Builds the sym Terraform provider into a local filesystem mirror, under
# registry.terraform.io/opensym/sym at our version and under
# registry.terraform.io/symopsio/sym at a 3.x version (so configurations
# written for the original provider, with its usual constraints ">= 1.0.0",
# ">= 2.0" or "~> 3.0", init and run unchanged), and prints the Terraform CLI
# configuration that uses it offline.
#
#   scripts/install-provider.sh            # mirror at $SYM_PROVIDER_MIRROR or ~/.terraform.d/sym-mirror
#
# SYM_PROVIDER_VERSION (default 0.1.0) is our version; the symopsio/sym copy
# is 3.<minor>.<patch> of it unless SYM_ORIGINAL_PROVIDER_VERSION says
# otherwise. Why 3.x: docs/decisions/013-provider-versions-and-module-provider.md.
# Keep the defaults in step with internal/testenv/terraform.go.
set -eu

version="${SYM_PROVIDER_VERSION:-0.1.0}"
minor_patch="${version#*.}"
original="${SYM_ORIGINAL_PROVIDER_VERSION:-3.$minor_patch}"
mirror="${SYM_PROVIDER_MIRROR:-$HOME/.terraform.d/sym-mirror}"
root="$(cd "$(dirname "$0")/.." && pwd)"
os_arch="$(go env GOOS)_$(go env GOARCH)"

case "$original" in
3.*) ;;
*)
	echo "SYM_ORIGINAL_PROVIDER_VERSION=$original: the symopsio/sym copy must be a 3.x version (the original's state and constraints are 3.x)" >&2
	exit 2
	;;
esac

mkdir -p "$mirror"
mirror="$(cd "$mirror" && pwd)"
tmp="$mirror/.terraform-provider-sym.$$"
trap 'rm -f "$tmp"' EXIT

(cd "$root" && go build -ldflags "-X main.version=$version" -o "$tmp" ./cmd/terraform-provider-sym)

install_as() {
	ns="$1"
	v="$2"
	dir="$mirror/registry.terraform.io/$ns/sym/$v/$os_arch"
	mkdir -p "$dir"
	cp "$tmp" "$dir/terraform-provider-sym_v$v.new"
	chmod 755 "$dir/terraform-provider-sym_v$v.new"
	mv -f "$dir/terraform-provider-sym_v$v.new" "$dir/terraform-provider-sym_v$v"
	echo "installed $dir/terraform-provider-sym_v$v"
}
install_as opensym "$version"
install_as symopsio "$original"

cat <<CONF

Add this to your Terraform CLI configuration (~/.terraformrc, or a file named
by TF_CLI_CONFIG_FILE); there is no "direct" block, so Terraform never asks a
registry:

provider_installation {
  filesystem_mirror {
    path    = "/opt/tf-plugins"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/opensym/*", "registry.terraform.io/symopsio/*"]
  }
}

Then require the provider as source = "opensym/sym", version = ">= $version",
or keep a configuration written for the original: source = "symopsio/sym"
with ">= 1.0.0", ">= 2.0" or "~> 3.0" selects $original ("~> 2.0" does not:
change it to "~> 3.0", see docs/migrating.md).
CONF

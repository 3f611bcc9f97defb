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
# It also writes that CLI configuration to $SYM_TF_CLI_CONFIG (default
# ~/.terraform.d/sym.tfrc), for TF_CLI_CONFIG_FILE to name; the hashicorp/*
# providers come from the mirror at $SYM_TF_PLUGIN_MIRROR (default
# /opt/tf-plugins), as in check-tools.
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
plugins="${SYM_TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
cliconf="${SYM_TF_CLI_CONFIG:-$HOME/.terraform.d/sym.tfrc}"
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

mkdir -p "$(dirname "$cliconf")"
cat >"$cliconf" <<CONF
# Terraform CLI configuration written by sym's scripts/install-provider.sh:
# providers come from filesystem mirrors only, never from a registry.
provider_installation {
  filesystem_mirror {
    path    = "$plugins"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/opensym/*", "registry.terraform.io/symopsio/*"]
  }
}
CONF

cat <<CONF

Wrote the Terraform CLI configuration that uses it to $cliconf:
  export TF_CLI_CONFIG_FILE=$cliconf
or copy its provider_installation block into ~/.terraformrc. There is no
"direct" block, so Terraform never asks a registry (with registry access, you
may replace the hashicorp mirror by: direct { exclude = ["registry.terraform.io/opensym/*",
"registry.terraform.io/symopsio/*"] }).

Then require the provider as source = "opensym/sym", version = ">= $version",
or keep a configuration written for the original: source = "symopsio/sym"
with ">= 1.0.0", ">= 2.0" or "~> 3.0" selects $original ("~> 2.0" does not:
change it to "~> 3.0", see docs/migrating.md).
CONF

# The configuration takes hashicorp/* from $plugins only: without the AWS
# provider there, every terraform init with it fails. Say so now, not then.
# (Both layouts of a filesystem mirror count, as in check-tools.)
aws_dir="$plugins/registry.terraform.io/hashicorp/aws"
if ! ls "$aws_dir"/*/*/terraform-provider-aws_* >/dev/null 2>&1 &&
	! ls "$aws_dir"/terraform-provider-aws_*.zip >/dev/null 2>&1; then
	cat >&2 <<WARN

warning: $plugins holds no hashicorp/aws provider, so terraform init with
$cliconf will fail. 'make check-tools' prints the command that fills
the mirror; or set SYM_TF_PLUGIN_MIRROR to the mirror you have and run this
again; or, with registry access, use the direct block above.
WARN
fi

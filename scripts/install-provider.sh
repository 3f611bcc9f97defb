#!/bin/sh
# Builds the sym Terraform provider into a local filesystem mirror, under
# registry.terraform.io/opensym/sym and registry.terraform.io/symopsio/sym
# (so configurations written for the original provider run unchanged), and
# prints the Terraform CLI configuration that uses it offline.
#
#   scripts/install-provider.sh            # mirror at $SYM_PROVIDER_MIRROR or ~/.terraform.d/sym-mirror
set -eu

version="${SYM_PROVIDER_VERSION:-0.1.0}"
mirror="${SYM_PROVIDER_MIRROR:-$HOME/.terraform.d/sym-mirror}"
root="$(cd "$(dirname "$0")/.." && pwd)"
os_arch="$(go env GOOS)_$(go env GOARCH)"

mkdir -p "$mirror"
mirror="$(cd "$mirror" && pwd)"
tmp="$mirror/.terraform-provider-sym.$$"
trap 'rm -f "$tmp"' EXIT

(cd "$root" && go build -ldflags "-X main.version=$version" -o "$tmp" ./cmd/terraform-provider-sym)

for ns in opensym symopsio; do
	dir="$mirror/registry.terraform.io/$ns/sym/$version/$os_arch"
	mkdir -p "$dir"
	cp "$tmp" "$dir/terraform-provider-sym_v$version.new"
	chmod 755 "$dir/terraform-provider-sym_v$version.new"
	mv -f "$dir/terraform-provider-sym_v$version.new" "$dir/terraform-provider-sym_v$version"
	echo "installed $dir/terraform-provider-sym_v$version"
done

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

Then require the provider as source = "opensym/sym" (or "symopsio/sym"),
version = "$version".
CONF

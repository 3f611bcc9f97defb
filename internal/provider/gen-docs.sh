#!/bin/sh
# Regenerates docs/resources and docs/data-sources from the provider's schema
# and examples/ with tfplugindocs (run: go generate ./internal/provider).
# Needs the Go module proxy (for tfplugindocs) and a local terraform; the
# provider comes from a temporary filesystem mirror, never from a registry.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

SYM_PROVIDER_MIRROR="$tmp/mirror" SYM_TF_CLI_CONFIG="$tmp/sym.tfrc" "$root/scripts/install-provider.sh" >/dev/null
cat > "$tmp/terraform.rc" <<CONF
provider_installation {
  filesystem_mirror {
    path    = "$tmp/mirror"
    include = ["registry.terraform.io/opensym/*"]
  }
}
CONF
mkdir -p "$tmp/schema"
cat > "$tmp/schema/main.tf" <<'TF'
terraform {
  required_providers {
    sym = { source = "opensym/sym" }
  }
}
TF
export TF_CLI_CONFIG_FILE="$tmp/terraform.rc" CHECKPOINT_DISABLE=1
(cd "$tmp/schema" && terraform init -input=false >/dev/null && terraform providers schema -json > "$tmp/schema.raw.json")
# tfplugindocs looks the provider up by its short name.
sed "s#registry.terraform.io/opensym/sym#sym#" "$tmp/schema.raw.json" > "$tmp/schema.json"

mkdir -p "$tmp/provider"
ln -s "$root/examples" "$tmp/provider/examples"
(cd "$root" && go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.24.0 generate \
	--provider-dir "$tmp/provider" --provider-name sym --rendered-provider-name "sym (self-hosted)" \
	--providers-schema "$tmp/schema.json" --rendered-website-dir docs)

for d in resources data-sources; do
	rm -rf "$root/docs/$d"
	cp -r "$tmp/provider/docs/$d" "$root/docs/$d"
done
echo "regenerated docs/resources and docs/data-sources"

#!/usr/bin/env bash
# Checks that this machine has what `make test` and `make demo` need, and says
# what to install when it does not. It never skips: a missing tool is an error.
set -u
fail=0
need() { # name, how to get it
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing: $1 — $2" >&2
    fail=1
  fi
}
need go "install Go 1.24 or newer from https://go.dev/dl/"
need terraform "install Terraform 1.5 or newer (https://developer.hashicorp.com/terraform/install)"
need moto_server "install the AWS emulator: pip install 'moto[server]>=5'"
need git "install git (apt-get install git)"
need aws "install the AWS CLI (pip install awscli, or your distribution's awscli package): the demo reads IAM with it"
need curl "install curl (apt-get install curl)"
need openssl "install openssl (apt-get install openssl): the README makes the admin token with it"
need jq "install jq (apt-get install jq): the README reads Terraform outputs and JSON answers with it"
# Headless Chromium for the web app's browser tests ($SYM_CHROMIUM names another binary).
chromium=${SYM_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "check-tools: installing chromium for the web app's browser tests (apt-get install -y chromium)" >&2
    if apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; }; then
      chromium=$(command -v chromium)
    fi
  fi
  if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    echo "missing: chromium — sudo apt-get install chromium (the web app's tests drive it headless), or set SYM_CHROMIUM" >&2
    fail=1
  fi
fi
if [ "$fail" = 0 ]; then
  gover=$(go env GOVERSION | sed 's/^go//')
  case "$gover" in 1.2[4-9]*|1.[3-9]*) ;; *) echo "Go $gover is too old: need 1.24 or newer" >&2; fail=1;; esac
  tfver=$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')
  case "$tfver" in 1.[5-9]*|1.1[0-9]*) ;; *) echo "Terraform ${tfver:-unknown} is too old: need 1.5 or newer" >&2; fail=1;; esac
  # The AWS provider comes from a filesystem mirror: no registry is assumed.
  # Terraform reads both layouts of one: unpacked (VERSION/OS_ARCH/ directories,
  # as a plugin cache holds them) and packed (the .zip files that
  # 'terraform providers mirror' writes).
  mirror=${SYM_TF_PLUGIN_MIRROR:-/opt/tf-plugins}
  aws_dir=$mirror/registry.terraform.io/hashicorp/aws
  if ! ls "$aws_dir"/*/*/terraform-provider-aws_* >/dev/null 2>&1 &&
    ! ls "$aws_dir"/terraform-provider-aws_*.zip >/dev/null 2>&1; then
    q=$(printf '%q' "$mirror")
    # Terraform writes into the mirror as this user: one it may not write
    # (/opt as a non-root user) is made or handed over with sudo first.
    make_dir="mkdir -p $q"
    top=$mirror
    while [ ! -e "$top" ] && [ "$top" != / ]; do top=$(dirname "$top"); done
    if [ ! -w "$top" ]; then
      if [ "$top" = "$mirror" ]; then
        make_dir="sudo chown $(id -un) $q"
      else
        make_dir="sudo install -d -o $(id -un) $q"
      fi
    fi
    cat >&2 <<EOF
missing: the hashicorp/aws Terraform provider in a filesystem mirror at $mirror
  fill it on a machine that reaches registry.terraform.io (Terraform's plugin cache has a mirror's layout):
    $make_dir && cd "\$(mktemp -d)" && printf 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = ">= 5.0" }\n  }\n}\n' >main.tf && TF_PLUGIN_CACHE_DIR=$q terraform init -backend=false
  (then copy $mirror to this machine if that was another), or set SYM_TF_PLUGIN_MIRROR to the mirror you have
EOF
    fail=1
  fi
fi
if [ "$fail" != 0 ]; then
  echo "check-tools: this machine lacks what sym's tests and demo need (see above)" >&2
  exit 1
fi
echo "check-tools: go $(go env GOVERSION), terraform ${tfver}, moto_server, git, aws cli, curl, openssl, jq, chromium, aws provider mirror: ok"

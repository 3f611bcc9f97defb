#!/usr/bin/env bash
# make demo: the whole product on this machine, with no AWS account.
#
# It starts moto_server (an AWS emulator) and sym server on free loopback
# ports, applies the quickstart (generated with `sym generate aws-iam`) with
# Terraform, checks the deployed roles with `sym connector verify`, creates a
# demo engineer with an IAM user, then requests access, approves it as
# another user, and shows the engineer in the IAM group. While that grant
# runs it does the same through IAM Identity Center: an Identity Center
# instance, identity-store user and permission set in the emulator, the
# quickstart of `sym generate aws-sso` applied, a request approved, the
# account assignment shown, then revoked and shown gone. Then it waits for
# the IAM grant to expire, shows the engineer gone, prints the audit trails,
# and stops everything it started. Each run starts from a clean work
# directory, so it can run again and again.
#
# Environment: SYM_BIN (default bin/sym), SYM_DEMO_DIR (default .demo),
# SYM_DEMO_DURATION (the IAM grant's duration, default 30s: long enough that
# the Identity Center part fits inside it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sym=${SYM_BIN:-$root/bin/sym}
work=${SYM_DEMO_DIR:-$root/.demo}
duration=${SYM_DEMO_DURATION:-30s}
env_name=demo
sso_env=sandbox

if [ -t 1 ]; then bold=$'\033[1m'; dim=$'\033[2m'; off=$'\033[0m'; else bold=; dim=; off=; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
say() { printf '    %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$off"; }

[ -x "$sym" ] || die "$sym is missing: run 'make build' (or 'make demo', which builds it)"

# ---- processes we start, and only those, are stopped on exit ----
pids=()
sso_apply= # a terraform apply running in the background, if any
cleanup() {
  local pid
  for pid in ${sso_apply:+"$sso_apply"} "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work"
mkdir -p "$work"

# ---- moto_server: start the real interpreter, so the PID is the server's ----
moto=$(command -v moto_server) || die "moto_server is not installed (pip install 'moto[server]>=5')"
if [[ $moto == */shims/* ]]; then moto=$(pyenv which moto_server); fi
read -r interp arg < <(head -n1 "$moto" | sed 's/^#!//')
if [ "$(basename "$interp")" = env ]; then interp=$(command -v "$arg"); fi
free_port() { "$interp" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
json() { "$interp" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
wait_http() { # url, what
  local i
  for i in $(seq 1 200); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  die "$2 did not answer on $1 (log in $work)"
}

step "Starting an AWS emulator (moto_server) and sym server on loopback"
moto_port=$(free_port)
"$interp" "$moto" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$moto_port/moto-api/" moto_server
say "moto_server  http://127.0.0.1:$moto_port (pid ${pids[0]})"

export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
iam() { aws --endpoint-url "$AWS_ENDPOINT_URL" iam "$@"; }

sym_port=$(free_port)
admin_token=$("$interp" -c 'import secrets; print("sym_admin_" + secrets.token_urlsafe(24))')
SYM_ADMIN_TOKEN=$admin_token "$sym" server --db "$work/sym.db" --listen "127.0.0.1:$sym_port" \
  --org default --log-format text >"$work/server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sym_port/healthz" "sym server"
say "sym server   http://127.0.0.1:$sym_port (pid ${pids[1]}, database $work/sym.db)"
export SYM_API_URL=http://127.0.0.1:$sym_port SYM_JWT=$admin_token

step "Building the Terraform provider into a local mirror"
SYM_PROVIDER_MIRROR=$work/mirror SYM_TF_CLI_CONFIG=$work/provider.tfrc "$root/scripts/install-provider.sh" >"$work/provider.log"
plugins=${SYM_TF_PLUGIN_MIRROR:-/opt/tf-plugins}
cat >"$work/terraform.rc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$plugins"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/opensym/*", "registry.terraform.io/symopsio/*"]
  }
}
EOF
export TF_CLI_CONFIG_FILE=$work/terraform.rc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_PLUGIN_CACHE_DIR=
say "mirror $work/mirror; CLI config $TF_CLI_CONFIG_FILE"

# sym server's own identity: an IAM user the runtime roles trust, and nobody
# else. (moto accepts any credentials, so the server runs with test keys; on
# AWS this is the user or role whose credentials the server has.)
server_arn=$(iam create-user --user-name sym-server --query User.Arn --output text)
account=$(cut -d: -f5 <<<"$server_arn")

step "Setting up IAM Identity Center in the emulator: a permission set and alice's identity-store user"
sso() { aws --endpoint-url "$AWS_ENDPOINT_URL" sso-admin "$@"; }
show "aws sso-admin list-instances"
read -r instance store < <(sso list-instances --query 'Instances[0].[InstanceArn,IdentityStoreId]' --output text)
[ -n "${store:-}" ] || die "the emulator has no IAM Identity Center instance"
show "aws sso-admin create-permission-set --name ReadOnly ..."
permission_set=$(sso create-permission-set --instance-arn "$instance" --name ReadOnly --session-duration PT1H \
  --query PermissionSet.PermissionSetArn --output text)
show "aws identitystore create-user --user-name alice --emails Value=alice@example.com,Primary=true ..."
alice_sso=$(aws --endpoint-url "$AWS_ENDPOINT_URL" identitystore create-user --identity-store-id "$store" \
  --user-name alice --display-name "Alice Example" --name GivenName=Alice,FamilyName=Example \
  --emails Value=alice@example.com,Type=work,Primary=true --query UserId --output text)
say "Identity Center instance $instance (identity store $store)"
say "permission set ReadOnly: $permission_set"
say "identity-store user alice: $alice_sso (sym finds her by her email)"

step "Generating the quickstarts and applying them with Terraform"
show "sym generate aws-iam --dir $work/project --environment $env_name"
"$sym" generate aws-iam --dir "$work/project" --environment "$env_name" >/dev/null
tf=$work/project/environments/$env_name
show "sym generate aws-sso --dir $work/sso-project --environment $sso_env"
"$sym" generate aws-sso --dir "$work/sso-project" --environment "$sso_env" >/dev/null
sso_tf=$work/sso-project/environments/$sso_env
show "terraform init && terraform apply   (in both projects, side by side)"
terraform -chdir="$tf" init -input=false -no-color >"$work/terraform-init.log" 2>&1 ||
  { cat "$work/terraform-init.log"; die "terraform init failed in $tf"; }
terraform -chdir="$sso_tf" init -input=false -no-color >"$work/terraform-sso-init.log" 2>&1 ||
  { cat "$work/terraform-sso-init.log"; die "terraform init failed in $sso_tf"; }
terraform -chdir="$sso_tf" apply -auto-approve -input=false -no-color \
  -var "aws_endpoint=$AWS_ENDPOINT_URL" \
  -var "runtime_trusted_principal_arns=[\"$server_arn\"]" \
  -var "targets=[{name=\"readonly\",label=\"Read-only\",permission_set_arn=\"$permission_set\",account_id=\"$account\"}]" \
  -var 'approvers=["bob@example.com"]' >"$work/terraform-sso-apply.log" 2>&1 &
sso_apply=$!
terraform -chdir="$tf" apply -auto-approve -input=false -no-color \
  -var "aws_endpoint=$AWS_ENDPOINT_URL" \
  -var "runtime_trusted_principal_arns=[\"$server_arn\"]" \
  -var "durations=[\"$duration\",\"30m\",\"1h\"]" \
  -var 'approvers=["bob@example.com"]' >"$work/terraform-apply.log" 2>&1 ||
  { tail -40 "$work/terraform-apply.log"; die "terraform apply failed in $tf"; }
wait "$sso_apply" || { sso_apply=; tail -40 "$work/terraform-sso-apply.log"; die "terraform apply failed in $sso_tf"; }
sso_apply=
say "$(grep -E '^Apply complete' "$work/terraform-apply.log") (aws-iam)"
say "$(grep -E '^Apply complete' "$work/terraform-sso-apply.log") (aws-sso)"
terraform -chdir="$tf" output -json >"$work/outputs.json"
terraform -chdir="$sso_tf" output -json >"$work/sso-outputs.json"
flow=$(json 'd["flow_name"]["value"]' <"$work/outputs.json")
target=$(json 'd["target_names"]["value"][-1]' <"$work/outputs.json")
group=$target
runtime_role=$(json 'd["runtime_role_arn"]["value"]' <"$work/outputs.json")
iam_role=$(json 'd["iam_connector_role_arn"]["value"]' <"$work/outputs.json")
external_id=$(json 'd["runtime_settings"]["value"]["external_id"]' <"$work/outputs.json")
groups=$(json '" ".join("--group /sym/:" + g for g in d["group_names"]["value"].values())' <"$work/outputs.json")
addons=$(json '" ".join("--addon " + a for a in d["runtime_settings"]["value"]["addons"].split(",") if a)' <"$work/outputs.json")
sso_flow=$(json 'd["flow_name"]["value"]' <"$work/sso-outputs.json")
sso_target=$(json 'd["target_names"]["value"][0]' <"$work/sso-outputs.json")
sso_runtime_role=$(json 'd["runtime_role_arn"]["value"]' <"$work/sso-outputs.json")
sso_role=$(json 'd["sso_connector_role_arn"]["value"]' <"$work/sso-outputs.json")
sso_external_id=$(json 'd["runtime_settings"]["value"]["external_id"]' <"$work/sso-outputs.json")
say "IAM groups (sym generate aws-iam, environment $env_name):"
say "  flow $flow, target $target (IAM group $group)"
say "  runtime connector role $runtime_role"
say "  IAM connector role     $iam_role"
say "IAM Identity Center (sym generate aws-sso, environment $sso_env):"
say "  flow $sso_flow, target $sso_target (permission set ReadOnly in account $account)"
say "  runtime connector role $sso_runtime_role"
say "  SSO connector role     $sso_role"

step "Checking the deployed roles are exactly as narrow as the modules promise"
show "sym connector verify --runtime-role-arn $runtime_role --external-id … --trusted-principal $server_arn $addons --iam-connector-role-arn $iam_role $groups"
# shellcheck disable=SC2086
"$sym" connector verify --runtime-role-arn "$runtime_role" --external-id "$external_id" \
  --trusted-principal "$server_arn" $addons --iam-connector-role-arn "$iam_role" $groups | sed 's/^/    /' ||
  die "sym connector verify found differences"
show "sym connector verify --runtime-role-arn $sso_runtime_role --external-id … --trusted-principal $server_arn --sso-connector-role-arn $sso_role"
"$sym" connector verify --runtime-role-arn "$sso_runtime_role" --external-id "$sso_external_id" \
  --trusted-principal "$server_arn" --sso-connector-role-arn "$sso_role" | sed 's/^/    /' ||
  die "sym connector verify found differences (IAM Identity Center project)"

step "Creating a demo engineer (alice, IAM user alice) and an approver (bob)"
iam create-user --user-name alice >/dev/null
show "sym users create alice@example.com --identity aws_iam=alice"
"$sym" users create alice@example.com --identity aws_iam=alice | sed 's/^/    /'
show "sym users create bob@example.com"
"$sym" users create bob@example.com | sed 's/^/    /'
alice=$("$sym" tokens issue alice@example.com)
bob=$("$sym" tokens issue bob@example.com)

members() { iam get-group --group-name "$group" --query 'Users[].UserName' --output text; }

step "alice asks for $duration of access to $target"
show "sym request $flow --target $target --reason 'investigate incident 42' --duration $duration"
SYM_JWT=$alice "$sym" request "$flow" --target "$target" --reason "investigate incident 42" --duration "$duration" \
  --json >"$work/request.json"
id=$(json 'd["id"]' <"$work/request.json")
SYM_JWT=$alice "$sym" requests "$id" | sed 's/^/    /'
say "members of $group now (from IAM): [$(members)]"

step "bob approves; sym adds alice to the group through the role chain"
show "sym approve $id"
SYM_JWT=$bob "$sym" approve "$id" -m "go ahead" | sed 's/^/    /'
during=$(members)
# The read counts only if the grant was still on when it ended: a slow
# machine may take longer than the grant to answer.
state=$(SYM_JWT=$alice "$sym" requests "$id" --json | json 'd["state"]')
say "members of $group during the grant (from IAM): [$during]"
if [ "$during" != alice ]; then
  [ "$state" = active ] || die "request $id was $state before IAM answered: this machine is slower than the grant; run again with a longer SYM_DEMO_DURATION (now $duration)"
  die "alice is not in $group during the grant"
fi

step "Meanwhile, through IAM Identity Center: alice asks for $sso_target"
assignments() {
  sso list-account-assignments --instance-arn "$instance" --account-id "$account" --permission-set-arn "$permission_set" \
    --query 'AccountAssignments[].PrincipalId' --output text
}
# named: identity-store user ids as printed, alice's with her user name.
named() {
  local id out=()
  for id in $1; do
    if [ "$id" = "$alice_sso" ]; then out+=("alice ($id)"); else out+=("$id"); fi
  done
  echo "${out[*]}"
}
show "sym request $sso_flow --target $sso_target --reason 'check the billing alarms' --duration 30m"
SYM_JWT=$alice "$sym" request "$sso_flow" --target "$sso_target" --reason "check the billing alarms" --duration 30m \
  --json >"$work/sso-request.json"
sso_id=$(json 'd["id"]' <"$work/sso-request.json")
say "assignments of ReadOnly in account $account now (from IAM Identity Center): [$(named "$(assignments)")]"
show "sym approve $sso_id"
SYM_JWT=$bob "$sym" approve "$sso_id" -m "ok" | sed 's/^/    /'
# Read while the request is active: it stays so until alice revokes it.
sso_during=$(assignments)
say "assignments of ReadOnly in account $account during the grant (from IAM Identity Center): [$(named "$sso_during")]"
[ "$sso_during" = "$alice_sso" ] || die "alice's identity-store user $alice_sso is not assigned ReadOnly during the grant"
show "sym revoke $sso_id -m 'done'"
SYM_JWT=$alice "$sym" revoke "$sso_id" -m "done" | sed 's/^/    /'
for _ in $(seq 1 60); do
  sso_state=$(SYM_JWT=$alice "$sym" requests "$sso_id" --json | json 'd["state"]')
  [ "$sso_state" = ended ] && break
  sleep 1
done
[ "$sso_state" = ended ] || die "request $sso_id is $sso_state, not ended, a minute after its revoke"
sso_after=$(assignments)
say "assignments of ReadOnly in account $account after the revoke (from IAM Identity Center): [$(named "$sso_after")]"
[ -z "$sso_after" ] || die "ReadOnly is still assigned after the revoke: $sso_after"

step "Back to IAM: waiting for alice's $duration grant to expire"
for _ in $(seq 1 120); do
  state=$(SYM_JWT=$alice "$sym" requests "$id" --json | json 'd["state"]')
  [ "$state" = ended ] && break
  sleep 1
done
[ "$state" = ended ] || die "request $id is $state, not ended, long after its duration"
SYM_JWT=$alice "$sym" requests "$id" | sed 's/^/    /'
after=$(members)
say "members of $group after expiry (from IAM): [$after]"
[ -z "$after" ] || die "$group still has members after expiry: $after"

step "The audit trail"
show "sym audit --request $id"
"$sym" audit --request "$id" | sed 's/^/    /'
step "The audit trail of the Identity Center request"
show "sym audit --request $sso_id"
"$sym" audit --request "$sso_id" | sed 's/^/    /'

step "The web app: the same flow in a browser"
say "URL: http://127.0.0.1:$sym_port/"
for who in alice@example.com bob@example.com; do
  link=$("$sym" users login-link "$who" --json | json 'd["url"]')
  say "one-time sign-in link for $who (15 minutes): $link"
done
if [ -n "${SYM_DEMO_KEEP:-}" ]; then
  say "the servers stay up until you press Enter (SYM_DEMO_KEEP is set)"
  read -r _ || true
else
  say "the servers stop now; run 'SYM_DEMO_KEEP=1 make demo' to keep them up and open these links"
fi

step "Done: stopping moto_server and sym server"
cleanup
pids=()
say "logs, state and the generated project stay in $work for you to read"

cat <<EOF

${bold}Where to look${off}
    $work/project            the Terraform layout you just applied (sym generate aws-iam)
    $work/sso-project        the same for IAM Identity Center (sym generate aws-sso)
    $work/server.log         what sym server did, step by step
    docs/requests.md         the request state machine; docs/api.md the API

${bold}To use it with your AWS account${off}
    1. Run 'sym server' where it has an AWS identity of its own (instance role, IAM user),
       with SYM_ADMIN_TOKEN set; it reaches AWS through the SDK's default credential chain.
    2. 'sym generate aws-iam --dir infra --environment prod', then in infra/environments/prod
       copy terraform.tfvars.example to terraform.tfvars and set runtime_trusted_principal_arns
       to that identity's ARN and your approvers (leave aws_endpoint empty), put your groups in
       main.tf's local.targets, and 'terraform apply' with SYM_API_URL and SYM_JWT set.
       ('sym generate aws-sso' does the same for IAM Identity Center permission sets.)
    3. 'sym users create you@example.com --identity aws_iam=<your IAM user>' and
       'sym request <flow> --target <target> --reason ... --duration 1h'.
    README.md has the details.
EOF
echo
echo "demo: OK"

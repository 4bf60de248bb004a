#!/usr/bin/env bash
# Synthesizes the vended CDK app in agentcore/cdk/ — the app `agentcore deploy` runs — offline, and
# prints the path of the CloudFormation template on the last line of stdout.
#
#   usage: scripts/deploy/cdk-synth.sh [OUT_DIR]        (default: .local/cdk-out)
#   env:   AWS_REGION (default us-east-1); NPM_TIMEOUT_SECONDS bounds each npm call (default 900)
#
# Needs no AWS account: placeholder credentials, no context lookups. The CDK app's npm dependencies
# are installed once into .local/cdk-deps-<hash of package.json>; when the registry lacks the
# @aws/agentcore-cdk version agentcore/cdk/package.json pins, the newest it has is used and one line
# on stderr says so (scripts/npm-install-lagging.js). The repository itself is not modified: the app
# is built in a scratch copy of agentcore/ beside links to the rest of the project.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
case "${1:-}" in -h|--help) usage_from_header "$0" ;; esac
OUT=$(mkdir -p "${1:-$REPO_ROOT/.local/cdk-out}" && cd "${1:-$REPO_ROOT/.local/cdk-out}" && pwd)
CDK="$REPO_ROOT/agentcore/cdk"
command -v npm >/dev/null 2>&1 || die "npm (Node.js 20+) is required"
ensure_uv  # the app packages the CodeZip agent with uv
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# 1. The app's dependencies, keyed by the content of its package.json.
key=$(sha256sum "$CDK/package.json" | cut -c1-16)
DEPS="$REPO_ROOT/.local/cdk-deps-$key"
if [ ! -f "$DEPS/.complete" ]; then
  rm -rf "$DEPS" && mkdir -p "$DEPS"
  cp "$CDK/package.json" "$DEPS/"
  say "installing the CDK app's dependencies into .local/cdk-deps-$key"
  node "$REPO_ROOT/scripts/npm-install-lagging.js" "$DEPS" || die "could not install the CDK app's dependencies"
  touch "$DEPS/.complete"
fi

# 2. A scratch project: the app reads ../agentcore.json etc. relative to agentcore/cdk.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/agentcore/cdk"
(cd "$REPO_ROOT/agentcore" && tar --exclude=./cdk -cf - .) | (cd "$WORK/agentcore" && tar -xf -)
(cd "$CDK" && tar --exclude=./node_modules --exclude=./dist --exclude=./cdk.out -cf - .) | (cd "$WORK/agentcore/cdk" && tar -xf -)
ln -s "$DEPS/node_modules" "$WORK/agentcore/cdk/node_modules"
for f in "$REPO_ROOT"/*; do
  [ "$(basename "$f")" = agentcore ] || ln -s "$f" "$WORK/$(basename "$f")"
done

# 3. Build and synthesize (timeouts: a wedged compiler must not hang CI).
cd "$WORK/agentcore/cdk"
timeout 600 node node_modules/typescript/bin/tsc >"$WORK/tsc.log" 2>&1 \
  || { tail -n 30 "$WORK/tsc.log" >&2; die "tsc failed"; }
rm -f "$OUT"/*.template.json
CDK_OUTDIR="$OUT" AWS_ACCESS_KEY_ID=placeholder AWS_SECRET_ACCESS_KEY=placeholder AWS_REGION="${AWS_REGION:-us-east-1}" \
  timeout 600 node dist/bin/cdk.js >"$WORK/synth.log" 2>&1 || { tail -n 30 "$WORK/synth.log" >&2; die "synth failed"; }
tpl=$(ls "$OUT"/*.template.json 2>/dev/null | head -n 1)
[ -n "$tpl" ] || die "no template written"
echo "$tpl"

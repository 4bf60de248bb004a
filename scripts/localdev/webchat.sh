#!/usr/bin/env bash
# The web chat on this machine, no AWS needed: the local issuer with its hosted UI (sign-in page,
# code + PKCE, refresh, sign-out), the JWT-secured gateway, the agent run by the real
# `agentcore dev`, and the web front serving the app (app/WebChat) with the local front door on
# /invocations (the deployed front door's policy: its authorizer, CORS, per-user throttle and
# daily quota; 429 + Retry-After beyond them). Prints the URL to open and the demo users' names;
# their passwords (new for every run) go to .local/webchat/demo-users.txt (mode 600, deleted on
# exit), never to the terminal or a log. Ctrl-C stops everything it started.
#
#   usage: scripts/localdev/webchat.sh [--port N] [--parameter NAME=VALUE]... [--self-sign-up]
#          --port       web front port (default: any free port)
#          --self-sign-up  the sign-in page offers "Create an account", admitting only e-mail
#                       addresses of $ORGANIZATION_DOMAIN (comma-separated; the PreSignUp trigger's
#                       own code decides, as with deploy-prerequisites.sh --self-sign-up on)
#          --parameter  a front-door limit under scripts/deploy/frontdoor.yaml's name: ThrottleRateLimit,
#                       ThrottleBurstLimit, QuotaLimitPerDay (defaults as the template's)
#   env:   MODEL_PROVIDER=bedrock for the real model (needs AWS credentials; default: offline)
#          OFFLINE_MODEL_CHUNK_DELAY_SECONDS  pause between the offline model's pieces (0.05)
#
# Writes only to ignored paths (.local/, agentcore/.env.local, agentcore/.cli/,
# app/CustomerSupport/.venv, app/WebChat/node_modules and dist).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

usage() { usage_from_header "$0"; }
port=""
limits=()
export WEBCHAT_SELF_SIGN_UP=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --parameter) [ $# -ge 2 ] || die "--parameter needs NAME=VALUE"; limits+=(--parameter "$2"); shift 2 ;;
    --parameter=*) limits+=(--parameter "${1#--parameter=}"); shift ;;
    --self-sign-up) export WEBCHAT_SELF_SIGN_UP=1; shift ;;
    --port) [ $# -ge 2 ] || die "--port needs a number"; port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    *) say "unknown argument: $1 (see scripts/localdev/webchat.sh --help)"; exit 2 ;;
  esac
done
[ -z "$port" ] || [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] || die "--port must be 1-65535"

cd "$REPO_ROOT"
claim_stack "$$" "scripts/localdev/webchat.sh" || exit 1
export STACK_PARENT_PID=$$
STATE="$REPO_ROOT/.local/webchat"
USERS_FILE="$STATE/demo-users.txt"
mkdir -p "$STATE"
AGENT_PID=""
FRONT_PID=""

cleanup() {
  trap - EXIT INT TERM
  stop_group "$FRONT_PID"
  stop_group "$AGENT_PID"
  stop_background_jobs
  scripts/localdev/dev-stack.sh down >/dev/null 2>&1 || true
  rm -f -- "$USERS_FILE"
  release_stack "$$"
  say "web chat stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "preparing: Python packages, the agentcore CLI, the web chat's build"
ensure_python_deps
CLI=$(ensure_agentcore_cli) || die "the agentcore CLI is required (npm install -g @aws/agentcore@0, or set AGENTCORE_CLI)"
ensure_webchat_build

port=${port:-$(free_port)}
URL="http://127.0.0.1:$port/"
say "starting the local issuer (hosted UI) and gateway"
WEBCHAT_URL="$URL" OFFLINE_MODEL_CHUNK_DELAY_SECONDS="${OFFLINE_MODEL_CHUNK_DELAY_SECONDS:-0.05}" \
  scripts/localdev/dev-stack.sh up >"$STATE/dev-stack.txt"

say "starting the agent with 'agentcore dev' (${MODEL_PROVIDER:-offline} model)"
AGENT_PORT=$(free_port)
start_agentcore_dev "$CLI" "$AGENT_PORT" "$STATE/agent.log"

# The app's config: the same fields scripts/deploy/configure.sh writes from SSM for a deployment.
python3 - "$REPO_ROOT/.local/dev-stack/issuer.ready" "$STATE/config.json" <<'PY'
import json, sys
urls = json.load(open(sys.argv[1]))
json.dump({"issuer": urls["issuer"], "clientId": "local-browser-client", "domain": urls["cognito_endpoint"],
           "endpoint": "/invocations", "scope": "openid profile email customersupport/invoke"}, open(sys.argv[2], "w"), indent=1)
PY

say "starting the web front (with the front door's policy)"
rm -f "$STATE/webfront.ready"
DISCOVERY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["discovery_url"])' "$REPO_ROOT/.local/dev-stack/issuer.ready")
# The same edge-grant key as the agent's (dev-stack.sh made it): the agent serves customers only via this door.
EDGE_GRANT_KEYS="$(cat "$REPO_ROOT/.local/dev-stack/edge-grant.key")" \
AUTH_DISCOVERY_URL="$DISCOVERY" AUTH_ALLOWED_CLIENTS=local-browser-client FRONTDOOR_SCOPE=customersupport/invoke \
  setsid uv run --frozen python -m scripts.localdev.webfront --agent "http://127.0.0.1:$AGENT_PORT" \
  --config "$STATE/config.json" --port "$port" --ready-file "$STATE/webfront.ready" ${limits[@]+"${limits[@]}"} \
  >"$STATE/webfront.log" 2>&1 </dev/null &
FRONT_PID=$!
for _ in $(seq 1 300); do
  [ -s "$STATE/webfront.ready" ] && break
  kill -0 "$FRONT_PID" 2>/dev/null || { tail -n 20 "$STATE/webfront.log" >&2; die "the web front did not start"; }
  sleep 0.1
done
[ -s "$STATE/webfront.ready" ] || die "the web front did not start within 30 s; see $STATE/webfront.log"

echo
echo "Web chat: $URL"
# Passwords to a private file, not the terminal: scrollback, CI logs and screen shares keep output.
(umask 077 && python3 - "$REPO_ROOT/.local/dev-stack/issuer-config.json" >"$USERS_FILE" <<'PY'
import json, sys
for user in json.load(open(sys.argv[1]))["users"]:
    print(f"{user['username']} {user['password']}")
PY
) || die "could not write $USERS_FILE"
echo "Sign in as one of the demo users: $(cut -d' ' -f1 "$USERS_FILE" | paste -sd' ')"
echo "Their passwords (new for every run): ${USERS_FILE#"$REPO_ROOT/"} (yours only; deleted on exit)"
if [ "$WEBCHAT_SELF_SIGN_UP" = 1 ]; then
  echo "Or create an account (\"Create an account\" on the sign-in page) with an address of: ${ORGANIZATION_DOMAIN:-(none: ORGANIZATION_DOMAIN is empty, every sign-up is refused)}"
fi
echo "Logs: .local/webchat/ and .local/dev-stack/. Press Ctrl-C to stop."
wait "$FRONT_PID"

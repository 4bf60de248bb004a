#!/usr/bin/env bash
# The local stand-ins for the cloud, for developers who run `agentcore dev` themselves:
# a Cognito-compatible issuer, the orders table (a moto DynamoDB server, the table as
# scripts/deploy/prerequisites.yaml declares it, each demo user's orders from
# scripts/localdev/data/demo_orders.json), the JWT- and Cedar-secured gateway (one JSON line per
# policy decision in .local/dev-stack/decisions.jsonl) and a web-search MCP server, plus
# agentcore/.env.local pointing the agent at them (offline model unless MODEL_PROVIDER is set;
# web search always the local one, never the public default) and writing one trace line per
# turn to .local/dev-stack/traces.jsonl.
#
#   usage: scripts/localdev/dev-stack.sh up|down|status|--help
#   env:   WEBCHAT_URL=http://127.0.0.1:PORT/  also registers the web chat's hosted-UI client
#          (code + PKCE, that exact callback/sign-out URL); scripts/localdev/webchat.sh sets it.
#          With WEBCHAT_URL the agent also requires the front door's edge grant from customers
#          (EDGE_GRANT_KEYS in .env.local, the key in .local/dev-stack/edge-grant.key for the web
#          front; the machine client is exempt): over quota at the web front is refused everywhere.
#          WEBCHAT_SELF_SIGN_UP=1 with ORGANIZATION_DOMAIN=example.com  a sign-up page on the local
#          hosted UI admitting only those domains (app/PreSignUp/handler.py decides).
#
# State lives in .local/dev-stack/ (ignored by git): client secrets and demo users' passwords,
# generated anew by every `up` (mode 600), logs, pids, and token.env — the variables
# scripts/deploy/fetch-token.sh needs. One stack at a time: `up` refuses while scripts/localdev/demo.sh (or
# another `up`, or scripts/localdev/webchat.sh) holds it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

STATE="$REPO_ROOT/.local/dev-stack"
ENV_LOCAL="$REPO_ROOT/agentcore/.env.local"
MARKER="# written by scripts/localdev/dev-stack.sh"

MACHINE_CLIENT=local-machine-client
USER_CLIENT=local-web-client
EXPIRED_CLIENT=local-expired-client
WEB_CLIENT=local-browser-client
DEMO_USERS="demo alex"
SCOPE=customersupport/invoke
POOL_ID=us-east-1_LOCAL

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

wait_for_file() {
  local file=$1 name=$2 i
  for i in $(seq 1 300); do
    [ -s "$file" ] && return 0
    running "$name" || { say "$name failed to start; log: $STATE/$name.log"; tail -n 20 "$STATE/$name.log" >&2; return 1; }
    sleep 0.1
  done
  say "$name did not start within 30 s; log: $STATE/$name.log"
  return 1
}

json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

start() {
  local name=$1; shift
  rm -f "$STATE/$name.ready"
  # Own process group, so `down` stops the service and anything it spawned.
  setsid "$@" --ready-file "$STATE/$name.ready" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
  wait_for_file "$STATE/$name.ready" "$name"
}

write_issuer_config() {
  (umask 077 && python3 - "$STATE/issuer-config.json" "${WEBCHAT_URL:-}" $DEMO_USERS <<PY
import json, os, secrets, sys, uuid
config_file, webchat_url, users = sys.argv[1], sys.argv[2], sys.argv[3:]
# The stack's AWS credentials: only calls signed with them may read a client secret (DescribeUserPoolClient).
api_secret = secrets.token_urlsafe(32)
clients = [
    {"client_id": "$MACHINE_CLIENT", "client_secret": secrets.token_urlsafe(32), "allowed_scopes": ["$SCOPE"]},
    {"client_id": "$USER_CLIENT", "user_login": True},
    {"client_id": "$EXPIRED_CLIENT", "client_secret": secrets.token_urlsafe(32),
     "allowed_scopes": ["$SCOPE"], "access_token_validity": -300},
]
if webchat_url:  # public hosted-UI client, like the deployed web client (no secret)
    clients.append({"client_id": "$WEB_CLIENT", "allowed_scopes": ["openid", "profile", "email", "$SCOPE"],
                    "callback_urls": [webchat_url], "logout_urls": [webchat_url],
                    "access_token_validity": 3600, "refresh_token_validity": 86400})
json.dump({
    "pool_id": "$POOL_ID",
    "token_lifetime": 3600,
    "clients": clients,
    "users": [{"username": u, "password": secrets.token_urlsafe(16), "sub": str(uuid.uuid4())} for u in users],
    # The issuer reads ORGANIZATION_DOMAIN itself, as the PreSignUp Lambda does.
    "self_sign_up": os.environ.get("WEBCHAT_SELF_SIGN_UP") == "1",
    "api_credentials": {"local": api_secret},
}, open(config_file, "w"), indent=1)
PY
  )
}

up() {
  ensure_python_deps
  mkdir -p "$STATE"
  if running issuer || running orders || running gateway || running websearch; then
    if [ -z "${STACK_PARENT_PID:-}" ] && stack_owner_alive && ! grep -q dev-stack "$STACK_OWNER"; then
      die "$(cut -d' ' -f2- "$STACK_OWNER") is running its own stack (pid $(cut -d' ' -f1 "$STACK_OWNER")); it stops it when it ends"
    fi
    say "the dev stack is already up (scripts/localdev/dev-stack.sh status)"; return 0
  fi
  claim_stack "$$" "scripts/localdev/dev-stack.sh up" || exit 1
  if [ -f "$ENV_LOCAL" ] && ! grep -q "^$MARKER" "$ENV_LOCAL"; then
    die "agentcore/.env.local exists and was not written by this script; move it away first"
  fi
  write_issuer_config  # new secrets and passwords for every stack

  cd "$REPO_ROOT"
  start issuer uv run --frozen python -m scripts.localdev.issuer --config "$STATE/issuer-config.json"
  local discovery issuer_base
  discovery=$(json_get "$STATE/issuer.ready" discovery_url)
  issuer_base=$(json_get "$STATE/issuer.ready" cognito_endpoint)
  local allowed="$MACHINE_CLIENT,$USER_CLIENT,$EXPIRED_CLIENT"
  [ -z "${WEBCHAT_URL:-}" ] || allowed="$allowed,$WEB_CLIENT"

  # The orders of each issuer user, keyed by that user's sub (new every `up`).
  start orders uv run --frozen python -m scripts.localdev.orders --issuer-config "$STATE/issuer-config.json"
  local orders_url orders_table
  orders_url=$(json_get "$STATE/orders.ready" dynamodb_url)
  orders_table=$(json_get "$STATE/orders.ready" orders_table)

  : >"$STATE/decisions.jsonl"
  AUTH_MODE=enforce AUTH_DISCOVERY_URL="$discovery" AUTH_ALLOWED_CLIENTS="$allowed" \
    ORDERS_TABLE_NAME="$orders_table" ORDERS_ENDPOINT_URL="$orders_url" \
    start gateway uv run --frozen python -m scripts.localdev.gateway --decision-log "$STATE/decisions.jsonl"
  local gateway_url
  gateway_url=$(json_get "$STATE/gateway.ready" gateway_url)
  start websearch uv run --frozen python -m scripts.localdev.websearch
  local web_search_url
  web_search_url=$(json_get "$STATE/websearch.ready" web_search_url)
  : >"$STATE/traces.jsonl"
  # The stack outlives this script: its issuer's pid holds the claim (unless a demo owns it).
  [ -n "${STACK_PARENT_PID:-}" ] || printf '%s %s\n' "$(cat "$STATE/issuer.pid")" "scripts/localdev/dev-stack.sh up" >"$STACK_OWNER"

  local edge=""
  if [ -n "${WEBCHAT_URL:-}" ]; then  # customers reach the agent only through the web front's door
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$STATE/edge-grant.key")
    edge="EDGE_GRANT_KEYS=$(cat "$STATE/edge-grant.key")
EDGE_EXEMPT_CLIENTS=$MACHINE_CLIENT"
  fi
  (umask 077 && cat >"$ENV_LOCAL") <<ENV
$MARKER; removed by 'scripts/localdev/dev-stack.sh down'
MODEL_PROVIDER=${MODEL_PROVIDER:-offline}
OFFLINE_MODEL_CHUNK_DELAY_SECONDS=${OFFLINE_MODEL_CHUNK_DELAY_SECONDS:-0}
AUTH_MODE=enforce
AUTH_DISCOVERY_URL=$discovery
AUTH_ALLOWED_CLIENTS=$allowed
AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=$gateway_url
LOCAL_MEMORY_DIR=$REPO_ROOT/.local/sessions
WEB_SEARCH_MCP_URL=$web_search_url
TRACE_FILE=$STATE/traces.jsonl
$edge
FEEDBACK_TABLE_NAME=$(json_get "$STATE/orders.ready" feedback_table)
FEEDBACK_ENDPOINT_URL=$orders_url
ENV

  # What scripts/deploy/fetch-token.sh needs; the local issuer answers the Cognito API calls.
  local api_secret
  api_secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_credentials"]["local"])' "$STATE/issuer-config.json")
  (umask 077 && cat >"$STATE/token.env") <<ENV
export COGNITO_POOL_ID=$POOL_ID
export COGNITO_CLIENT_ID=$MACHINE_CLIENT
export COGNITO_USER_CLIENT_ID=$USER_CLIENT
export COGNITO_TOKEN_URL=$(json_get "$STATE/issuer.ready" token_url)
export COGNITO_AUTH_SCOPE=$SCOPE
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=$issuer_base
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=$api_secret
export AWS_CLI="$REPO_ROOT/.venv/bin/aws"
ENV

  cat <<MSG
Local dev stack is up.
  issuer:   $(json_get "$STATE/issuer.ready" issuer)
  gateway:  $gateway_url (policy decisions: .local/dev-stack/decisions.jsonl)
  orders:   $orders_table at $orders_url (moto DynamoDB)
  web search: $web_search_url (local stand-in)
  traces:   .local/dev-stack/traces.jsonl (one JSON line per turn)
  agentcore/.env.local points the agent at them (model: ${MODEL_PROVIDER:-offline}).

Next:
  scripts/agentcore dev --logs --skip-deploy --port 8080     # in another terminal
  source .local/dev-stack/token.env
  TOKEN=\$(scripts/deploy/fetch-token.sh)     # or a user: scripts/deploy/fetch-token.sh --user demo (password in
                                       # .local/dev-stack/issuer-config.json)
  scripts/agentcore dev --port 8080 -H "Authorization: Bearer \$TOKEN" --stream "What's the return policy for accessories?"
Stop with: scripts/localdev/dev-stack.sh down
MSG
}

stop_service() {
  local name=$1
  if running "$name"; then
    kill -- "-$(cat "$STATE/$name.pid")" 2>/dev/null || kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do running "$name" || break; sleep 0.1; done
    running "$name" && kill -9 -- "-$(cat "$STATE/$name.pid")" 2>/dev/null || true
  fi
  rm -f "$STATE/$name.pid" "$STATE/$name.ready"
}

down() {
  if stack_owner_alive && ! grep -q dev-stack "$STACK_OWNER" && [ "$(cut -d' ' -f1 "$STACK_OWNER")" != "${STACK_PARENT_PID:-}" ]; then
    die "$(cut -d' ' -f2- "$STACK_OWNER") is running (pid $(cut -d' ' -f1 "$STACK_OWNER")) and stops its stack when it ends"
  fi
  stop_service websearch
  stop_service gateway
  stop_service orders
  stop_service issuer
  if [ -f "$ENV_LOCAL" ] && grep -q "^$MARKER" "$ENV_LOCAL"; then rm -f "$ENV_LOCAL"; fi
  rm -f "$STATE/token.env" "$STATE/edge-grant.key"
  [ -n "${STACK_PARENT_PID:-}" ] || rm -f "$STACK_OWNER"
  say "dev stack stopped"
}

status() {
  local name
  for name in issuer orders gateway websearch; do
    if running "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  -h|--help) usage_from_header "$0" ;;
  *) say "usage: scripts/localdev/dev-stack.sh up|down|status|--help"; exit 2 ;;
esac

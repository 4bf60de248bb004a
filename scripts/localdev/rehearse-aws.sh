#!/usr/bin/env bash
# Rehearse the AWS deploy flow offline, before touching an account:
#   1. scripts/deploy/deploy-prerequisites.sh   (Cognito, WarrantyCheck Lambda, SSM parameters)
#   2. scripts/deploy/configure.sh --project    (SSM values into a scratch copy of agentcore/agentcore.json)
#   3. agentcore validate                (the CLI's check of that copy)
#   4. scripts/deploy/fetch-token.sh            (a client_credentials access token; its signature, issuer
#                                         and client_id are then checked against the configured copy)
# against a local AWS emulator (moto with the project's CloudFormation bridge for Cognito,
# scripts/localdev/moto_stack.py) and the local issuer (scripts/localdev/issuer.py), which stands in for the
# Cognito /oauth2/token endpoint moto lacks and knows the machine client id and secret moto created.
#
#   usage: scripts/localdev/rehearse-aws.sh
#          scripts/localdev/rehearse-aws.sh --help
#
# Nothing leaves this machine: dummy AWS credentials, AWS_ENDPOINT_URL on the emulator, proxies and
# your AWS profiles ignored, instance metadata lookups off, telemetry off; both servers listen on
# 127.0.0.1 (free ports) and are stopped on exit or Ctrl-C. The repository's own
# agentcore/agentcore.json is never written: configure runs on a copy in .local/rehearsal/project/.
# Logs go to .local/rehearsal/logs/. Secrets stay off command lines and out of the output: the client
# secret reaches the issuer in a mode-600 file (deleted once the issuer has read it), the token goes
# to a mode-600 file and only its length is printed; their private directory is deleted on exit.
#
# Prints one line per step and "Rehearsal complete", or names the failed step and its log (exit 1).
# Timeouts: server start 60 s each, deploy 300 s, configure/validate 120 s each, fetch-token 60 s.
# Needs what the other scripts install (uv, the Python deps, the agentcore CLI; AGENTCORE_CLI
# overrides) plus curl. Only that setup may use the package registries; the rehearsal does not.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
case "${1:-}" in
  "") ;;
  -h|--help) usage_from_header "$0" ;;
  *) say "unknown argument: $1 (see scripts/localdev/rehearse-aws.sh --help)"; exit 2 ;;
esac
cd "$REPO_ROOT"
started=$(date +%s)
umask 077  # logs, the scratch project and the secret files are the user's alone

WORK=.local/rehearsal
LOGS=$WORK/logs
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock -n 9 || die "another rehearsal is running (lock $WORK/.lock)"

SERVER_PIDS=()
STEP_PID=""
SECRETS=""

cleanup() {
  trap - EXIT INT TERM
  local pid
  if [ -n "$STEP_PID" ]; then stop_group "$STEP_PID"; fi
  for pid in ${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}; do stop_group "$pid"; done
  stop_background_jobs
  if [ -n "$SECRETS" ]; then rm -rf -- "$SECRETS"; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'exit 143' TERM

# -- setup (the only part that may use a package registry, and only when something is missing) --
ensure_python_deps
CLI=$(ensure_agentcore_cli) || die "the agentcore CLI is required (npm install -g @aws/agentcore@0, or set AGENTCORE_CLI)"
command -v curl >/dev/null 2>&1 || die "curl is required"
PY="$REPO_ROOT/.venv/bin/python"

rm -rf -- "$LOGS" "$WORK/project" "$WORK"/secrets.*  # secrets.*: left by a run that was killed
mkdir -p "$LOGS"
SECRETS=$(umask 077 && mktemp -d "$REPO_ROOT/$WORK/secrets.XXXXXX")
manifest_before=$(sha256sum agentcore/agentcore.json)

# -- an environment in which nothing can reach AWS or any other host ------------------------------
for var in $(compgen -e); do
  case $var in AWS_* | COGNITO_* | FETCH_TOKEN_*) unset "$var" ;; esac
done
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
: >"$WORK/no-aws-config"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE="$REPO_ROOT/$WORK/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$REPO_ROOT/$WORK/no-aws-config" \
  AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" \
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
  AGENTCORE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 \
  AWS_CLI="$REPO_ROOT/.venv/bin/aws" AGENTCORE_CLI="$CLI" \
  PATH="$REPO_ROOT/.venv/bin:$PATH"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server LOG COMMAND...: in its own process group (so Ctrl-C reaches the trap, not it).
start_server() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 </dev/null 9>&- &
  SERVER_PIDS+=("$!")
}

# wait_until SECONDS PID LOG WHAT COMMAND...: poll COMMAND until it succeeds; fail when PID dies.
wait_until() {
  local limit=$1 pid=$2 log=$3 what=$4 deadline
  shift 4
  deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -n 5 "$log" >&2; die "$what exited during start-up; log: $log"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$what did not start within $limit s; log: $log"
    sleep 0.2
  done
}

# -- the emulator --------------------------------------------------------------------------------
MOTO_PORT=$(free_port)
MOTO_URL="http://127.0.0.1:$MOTO_PORT"
start_server "$LOGS/moto.log" "$PY" -m scripts.localdev.moto_stack --serve-moto "$MOTO_PORT"
MOTO_PID=${SERVER_PIDS[-1]}
wait_until 60 "$MOTO_PID" "$LOGS/moto.log" "the AWS emulator (moto)" curl -fs --max-time 2 "$MOTO_URL/moto-api/"
export AWS_ENDPOINT_URL="$MOTO_URL"
echo "AWS emulator (moto with the Cognito CloudFormation bridge): $MOTO_URL (log: $LOGS/moto.log)"

# run_step N NAME TIMEOUT STDOUT COMMAND...: COMMAND with a deadline, stderr (and stdout unless
# STDOUT names a file) in $LOGS/NAME.log (spaces as '-'); on failure, say so with the log's last
# lines and exit 1.
# The step runs in its own process group: the INT trap (not the terminal) stops it.
STEP_LOG=""
run_step() {
  local n=$1 name=$2 limit=$3 out=$4 status=0
  shift 4
  STEP_LOG="$LOGS/${name// /-}.log"
  [ -n "$out" ] || out=$STEP_LOG
  if [ "$out" = "$STEP_LOG" ]; then
    setsid -w timeout -k 5 "$limit" "$@" >"$STEP_LOG" 2>&1 </dev/null 9>&- &
  else
    setsid -w timeout -k 5 "$limit" "$@" >"$out" 2>"$STEP_LOG" </dev/null 9>&- &
  fi
  STEP_PID=$!
  wait "$STEP_PID" || status=$?
  STEP_PID=""
  [ "$status" -eq 0 ] && return 0
  local why="exit status $status"
  [ "$status" -ne 124 ] || why="timed out after $limit s"
  echo "[$n/4] $name: FAILED ($why); log: $STEP_LOG"
  tail -n 5 "$STEP_LOG" | sed 's/^/    /'
  echo "Rehearsal failed at step $n ($name); see $STEP_LOG"
  exit 1
}

PREFIX=/app/customersupport/agentcore/
# lap: TOOK = seconds since the previous lap (each step's line says how long it took).
LAP=$SECONDS
lap() { TOOK="$((SECONDS - LAP)) s"; LAP=$SECONDS; }

# 1. -------------------------------------------------------------------------------------------
run_step 1 deploy-prerequisites 300 "" bash scripts/deploy/deploy-prerequisites.sh
count=$(timeout 60 "$AWS_CLI" ssm get-parameters-by-path --path "$PREFIX" --query 'length(Parameters)' --output text)
lap
echo "[1/4] deploy-prerequisites: OK in $TOOK (stack customersupport-prerequisites on moto, $count SSM parameters under $PREFIX)"

# 2. -------------------------------------------------------------------------------------------
"$PY" -m scripts.localdev.rehearsal copy-project "$WORK/project"
# configure's own validate is skipped here: step 3 runs it on its own line.
run_step 2 configure 120 "" bash scripts/deploy/configure.sh --project "$WORK/project" --skip-validate
lap
echo "[2/4] configure: OK in $TOOK (wrote $WORK/project/agentcore/agentcore.json; the repository's manifest is untouched)"

# 3. -------------------------------------------------------------------------------------------
run_step 3 "agentcore validate" 120 "" bash -c 'cd "$1" && "$AGENTCORE_CLI" validate' validate "$WORK/project"
lap
echo "[3/4] agentcore validate: OK in $TOOK (agentcore CLI $(timeout 30 "$CLI" --version 2>/dev/null | tail -n 1), on the configured copy)"

# 4. -------------------------------------------------------------------------------------------
# The issuer learns the machine client's id and secret from moto (mode-600 file, never argv), and
# answers at the token URL fetch-token would otherwise read from SSM (Cognito's hosted domain).
run_step 4 issuer-config 60 "" "$PY" -m scripts.localdev.rehearsal issuer-config --prefix "$PREFIX" \
  --out "$SECRETS/issuer.json"
start_server "$LOGS/issuer.log" "$PY" -m scripts.localdev.issuer --config "$SECRETS/issuer.json" \
  --port 0 --ready-file "$SECRETS/issuer-ready.json"
ISSUER_PID=${SERVER_PIDS[-1]}
wait_until 60 "$ISSUER_PID" "$LOGS/issuer.log" "the local issuer" test -s "$SECRETS/issuer-ready.json"
rm -f -- "$SECRETS/issuer.json"
read_url() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
ISSUER=$(read_url "$SECRETS/issuer-ready.json" issuer)
TOKEN_URL=$(read_url "$SECRETS/issuer-ready.json" token_url)
wait_until 30 "$ISSUER_PID" "$LOGS/issuer.log" "the local issuer" \
  curl -fs --max-time 2 "$ISSUER/.well-known/openid-configuration"
echo "local issuer (stands in for Cognito's /oauth2/token): $TOKEN_URL (log: $LOGS/issuer.log)"

run_step 4 fetch-token 60 "$SECRETS/token" env COGNITO_TOKEN_URL="$TOKEN_URL" FETCH_TOKEN_TIMEOUT=10 \
  bash scripts/deploy/fetch-token.sh
run_step 4 check-token 60 "$SECRETS/check.txt" "$PY" -m scripts.localdev.rehearsal check-token \
  --token-file "$SECRETS/token" --issuer "$ISSUER" --manifest "$WORK/project/agentcore/agentcore.json"
rm -f -- "$SECRETS/token"
lap
echo "[4/4] fetch-token: OK in $TOOK ($(cat "$SECRETS/check.txt"))"

[ "$(sha256sum agentcore/agentcore.json)" = "$manifest_before" ] ||
  die "the repository's agentcore/agentcore.json changed during the rehearsal (it must not)"
cleanup
echo "Rehearsal complete in $(($(date +%s) - started)) s: servers stopped, logs in $LOGS/."
echo "On AWS: scripts/deploy/deploy-prerequisites.sh, scripts/deploy/configure.sh, agentcore validate, agentcore deploy."

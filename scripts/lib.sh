# Shared helpers for the project's scripts (sourced, not run).
# Installs only into the repository (.venv, .local/) or the user's uv/npm caches.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AGENTCORE_CLI_VERSION="${AGENTCORE_CLI_VERSION:-0.30.0}"

say() { printf '%s\n' "$*" >&2; }

# Behind a TLS-inspecting proxy the system's CA bundle is the one that works; uv (rustls) and
# Node only use it when told to.
if [ -z "${SSL_CERT_FILE:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
fi
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -n "${SSL_CERT_FILE:-}" ]; then export NODE_EXTRA_CA_CERTS="$SSL_CERT_FILE"; fi
die() { say "$(basename "$0"): $*"; exit 1; }

# uv: the one on PATH, else a private copy in .local/uv (a venv, so it works on PEP 668 system
# Pythons such as Debian 12 / Ubuntu 23.04+ and never touches the system's or the user's site).
UV_VERSION="${UV_VERSION:-0.13.9}"
ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  local venv="$REPO_ROOT/.local/uv"
  if [ ! -x "$venv/bin/uv" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 (3.10+) is required"
    say "installing uv $UV_VERSION into .local/uv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
      || die "could not install uv into .local/uv"
  fi
  PATH="$venv/bin:$PATH"
  export PATH
  hash -r
}

# Python dependencies of the development project (locked in uv.lock).
# --compile-bytecode: every process the scripts and tests start imports from .pyc files, even where
# PYTHONDONTWRITEBYTECODE is set (containers, some CI images) and nothing would ever write them:
# without it each agent, issuer and CLI helper compiles strands, mcp and boto3 again (a sample of
# 45 process-starting tests took 97 s instead of 70 s). Costs ~0.2 s once the venv is compiled.
ensure_python_deps() {
  ensure_uv
  (cd "$REPO_ROOT" && uv sync --frozen --quiet --compile-bytecode) || die "uv sync failed"
}

# The agentcore CLI: $AGENTCORE_CLI, else `agentcore` on PATH if it is the npm CLI v0, else a
# project-local install under .local/agentcore-cli (scripts/install-agentcore-cli.sh). Prints its path.
# A CLI of major version 1 or later is refused (returns 1 with the reason): 1.x has another project
# format and other commands, and failing here is clearer than failing halfway through a script.
# Any other `agentcore` (e.g. the starter toolkit's Python one) is passed over, saying so.
ensure_agentcore_cli() {
  local candidate version on_path
  on_path=$(command -v agentcore 2>/dev/null || true)
  for candidate in "${AGENTCORE_CLI:-}" "$on_path"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    # Each probe is bounded (60 s): a hung binary must not hang every script.
    version=$(timeout 60 "$candidate" --version 2>/dev/null | tail -n 1) || true
    case "$version" in
      0.*) if timeout 60 "$candidate" --help 2>/dev/null | grep -q ' validate'; then
             printf '%s\n' "$candidate"; return 0
           fi ;;
      [1-9]*.*) refuse_agentcore_major "$candidate" "$version"; return 1 ;;
    esac
    if [ "$candidate" = "$on_path" ]; then
      say "ignoring $candidate: not the npm @aws/agentcore CLI v0 (the starter toolkit's?); using the project's own v0 in .local/agentcore-cli"
    else
      say "ignoring AGENTCORE_CLI=$candidate: not the npm @aws/agentcore CLI v0"
    fi
  done
  bash "$REPO_ROOT/scripts/install-agentcore-cli.sh" | tail -n 1
}

# refuse_agentcore_major PATH VERSION: why this project does not run the CLI 1.x.
refuse_agentcore_major() {
  say "$1 is the agentcore CLI $2; this project is tested with v0 ($AGENTCORE_CLI_VERSION) only."
  say "  CLI 1.x uses project format \"version\": 2 (this project is version 1), replaces \`validate\` and"
  say "  \`package\` with \`build\`, and converts a v0 project with \`agentcore migrate\`; none of that is tested here."
  say "  Use v0: npm install -g @aws/agentcore@0, or AGENTCORE_CLI=\"\$(scripts/install-agentcore-cli.sh | tail -n 1)\""
  say "  (a project-local v0 in .local/agentcore-cli; AGENTCORE_CLI wins over PATH)."
}

# One local stack at a time: demo.sh, webchat.sh and dev-stack.sh share .local/dev-stack and
# agentcore/.env.local. The owner file says who holds them ("PID WHO"); a dead PID frees them.
# The check-and-claim runs under flock, so two scripts starting together cannot both win.
STACK_OWNER="$REPO_ROOT/.local/stack.owner"

stack_owner_alive() {
  [ -f "$STACK_OWNER" ] && kill -0 "$(cut -d' ' -f1 "$STACK_OWNER")" 2>/dev/null
}

# claim_stack PID WHO: succeed if the stack is free, stale or already PID's; else explain and fail.
claim_stack() {
  local pid=$1 who=$2
  mkdir -p "$REPO_ROOT/.local"
  (
    flock -w 10 9 || { say "could not lock $REPO_ROOT/.local/stack.lock within 10 s"; exit 1; }
    if stack_owner_alive && [ "$(cut -d' ' -f1 "$STACK_OWNER")" != "$pid" ] \
        && [ "$(cut -d' ' -f1 "$STACK_OWNER")" != "${STACK_PARENT_PID:-}" ]; then
      say "another local stack is running: $(cut -d' ' -f2- "$STACK_OWNER") (pid $(cut -d' ' -f1 "$STACK_OWNER"))."
      if grep -q dev-stack "$STACK_OWNER"; then say "Stop it first with scripts/localdev/dev-stack.sh down, then try again."
      else say "Wait for it to end (or Ctrl-C it), then try again."; fi
      exit 1
    fi
    [ "$(cut -d' ' -f1 "$STACK_OWNER" 2>/dev/null)" = "${STACK_PARENT_PID:-}" ] && stack_owner_alive \
      || printf '%s %s\n' "$pid" "$who" >"$STACK_OWNER"
  ) 9>"$REPO_ROOT/.local/stack.lock"
}

release_stack() {
  local pid=$1
  if [ -f "$STACK_OWNER" ] && [ "$(cut -d' ' -f1 "$STACK_OWNER")" = "$pid" ]; then rm -f "$STACK_OWNER"; fi
}

# usage_from_header FILE: print a script's header comment (its usage) and exit 0.
usage_from_header() {
  sed -n '2,/^[^#]/p' "$1" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
}

# The web chat's npm packages (oidc-client-ts, esbuild) and its bundle in app/WebChat/dist.
WEBCHAT_DIR="$REPO_ROOT/app/WebChat"
ensure_webchat_build() {
  command -v node >/dev/null 2>&1 || die "Node.js 20+ is required to build the web chat (app/WebChat)"
  local stamp="$WEBCHAT_DIR/node_modules/.installed-from"
  if [ ! -f "$stamp" ] || ! cmp -s "$WEBCHAT_DIR/package.json" "$stamp"; then
    say "installing the web chat's npm packages (app/WebChat/node_modules)"
    rm -rf "$WEBCHAT_DIR/node_modules"
    NPM_TIMEOUT_SECONDS="${NPM_TIMEOUT_SECONDS:-900}" npm_config_update_notifier=false \
      node "$REPO_ROOT/scripts/npm-install-lagging.js" "$WEBCHAT_DIR" --no-package-lock >&2 \
      || die "could not install the web chat's packages (see app/WebChat/install.log)"
    cp "$WEBCHAT_DIR/package.json" "$stamp"
  fi
  (cd "$WEBCHAT_DIR" && node build.mjs) >&2 || die "the web chat did not build"
}

# Debian packages some tests need: Chromium for the browser tests (Playwright drives it and never
# downloads a browser) and strace for the rehearsal's "only loopback is contacted" check.
# Installed with apt-get when run as root; otherwise a clear message (fatal under CI=true, where
# nothing may skip; elsewhere those tests skip).
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ensure_test_tools() {
  local missing=()
  [ -x "$CHROMIUM" ] || missing+=(chromium)
  command -v strace >/dev/null 2>&1 || missing+=(strace)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt-get) for the browser and rehearsal tests"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${missing[@]}" >&2 \
      || die "apt-get could not install ${missing[*]}"
    [ -x "$CHROMIUM" ] || die "chromium was installed but $CHROMIUM is missing; set CHROMIUM to its path"
  elif [ "${CI:-}" = true ]; then
    die "the tests need ${missing[*]}: sudo apt-get install ${missing[*]} (or set CHROMIUM)"
  else
    say "warning: ${missing[*]} missing (sudo apt-get install ${missing[*]}); the tests needing them will skip"
  fi
}

# A TCP port on 127.0.0.1 that is free right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Runs the real `agentcore dev` (the agent under uvicorn, as on the runtime) on PORT in its own
# process group, output to LOG; sets AGENT_PID and waits up to 300 s for /ping (the first run
# creates app/CustomerSupport/.venv).
start_agentcore_dev() {
  local cli=$1 port=$2 log=$3 _
  setsid "$cli" dev --logs --skip-deploy --port "$port" >"$log" 2>&1 </dev/null &
  AGENT_PID=$!
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || { tail -n 30 "$log" >&2; die "agentcore dev exited"; }
    sleep 0.5
  done
  die "the agent did not start within 300 s; see $log"
}

# Stops a process group started with setsid: TERM, then KILL once 5 s pass with any member left.
# Also stops a child caught before its setsid (still in our group): then only the pid is signalled.
stop_group() {
  local pid=$1 _
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

# Stops every background job of this shell, each as a process group. Cleanup traps call it as
# well as stopping the pids they recorded: Ctrl-C can land between `cmd &` and `PID=$!`, and
# that child must not outlive the script.
stop_background_jobs() {
  local pid
  for pid in $(jobs -p); do stop_group "$pid"; done
}

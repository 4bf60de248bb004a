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
ensure_python_deps() {
  ensure_uv
  (cd "$REPO_ROOT" && uv sync --frozen --quiet) || die "uv sync failed"
}

# The agentcore CLI: $AGENTCORE_CLI, else `agentcore` on PATH if it is the npm CLI, else a
# project-local install under .local/agentcore-cli (scripts/install-agentcore-cli.sh). Prints its path.
ensure_agentcore_cli() {
  local candidate
  for candidate in "${AGENTCORE_CLI:-}" "$(command -v agentcore 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --help 2>/dev/null | grep -q ' validate'; then
      printf '%s\n' "$candidate"; return 0
    fi
  done
  bash "$REPO_ROOT/scripts/install-agentcore-cli.sh" | tail -n 1
}

# One local stack at a time: scripts/demo.sh and scripts/dev-stack.sh share .local/dev-stack and
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
      if grep -q demo "$STACK_OWNER"; then say "Wait for that demo to end (or Ctrl-C it), then try again."
      else say "Stop it first with scripts/dev-stack.sh down, then try again."; fi
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

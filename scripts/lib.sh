# Shared helpers for the project's scripts (sourced, not run).
# Installs only into the repository (.venv, .local/) or the user's uv/npm caches.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AGENTCORE_CLI_VERSION="${AGENTCORE_CLI_VERSION:-0.30.0}"

say() { printf '%s\n' "$*" >&2; }
die() { say "$(basename "$0"): $*"; exit 1; }

# uv: use the one on PATH, else install it with pip (user site) — the README's only prerequisite
# besides Python 3.10+, Node 20+ and npm.
ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  command -v python3 >/dev/null 2>&1 || die "python3 (3.10+) is required"
  say "installing uv with pip"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv \
    || die "could not install uv with pip"
  PATH="$(python3 -m site --user-base)/bin:$PATH"
  export PATH
  hash -r
  command -v uv >/dev/null 2>&1 || die "uv was installed but is not on PATH"
}

# Python dependencies of the development project (locked in uv.lock).
ensure_python_deps() {
  ensure_uv
  (cd "$REPO_ROOT" && uv sync --frozen --quiet) || die "uv sync failed"
}

# The agentcore CLI: $AGENTCORE_CLI, else `agentcore` on PATH if it is the npm CLI, else a
# project-local `npm install @aws/agentcore` under .local/agentcore-cli. Prints its path.
ensure_agentcore_cli() {
  local candidate
  for candidate in "${AGENTCORE_CLI:-}" "$(command -v agentcore 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --help 2>/dev/null | grep -q ' validate'; then
      printf '%s\n' "$candidate"; return 0
    fi
  done
  local prefix="$REPO_ROOT/.local/agentcore-cli"
  if [ ! -x "$prefix/node_modules/.bin/agentcore" ]; then
    command -v npm >/dev/null 2>&1 || die "npm (Node.js 20+) is required for the agentcore CLI"
    say "installing @aws/agentcore@$AGENTCORE_CLI_VERSION into .local/agentcore-cli"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-fund --no-audit --loglevel=error \
      "@aws/agentcore@$AGENTCORE_CLI_VERSION" >&2 || return 1
  fi
  printf '%s\n' "$prefix/node_modules/.bin/agentcore"
}

# Shared helpers for the project's scripts (sourced, not run).
# Installs only into the repository (.venv, .local/) or the user's uv/npm caches.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AGENTCORE_CLI_VERSION="${AGENTCORE_CLI_VERSION:-0.30.0}"

say() { printf '%s\n' "$*" >&2; }
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

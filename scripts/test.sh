#!/usr/bin/env bash
# Runs every test (offline). Installs what it needs: uv, the locked Python dependencies and,
# unless AGENTCORE_CLI points at one, the agentcore CLI (npm @aws/agentcore); Chromium for the
# browser tests (apt-get when run as root; CHROMIUM names another binary). The tests build the web
# chat themselves (scripts/build-webchat.sh).
#   usage: scripts/test.sh [pytest args...]
#          scripts/test.sh --help
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h|--help) usage_from_header "$0" ;; esac
cd "$REPO_ROOT"

ensure_python_deps
ensure_chromium  # the web chat's browser tests (tests/test_webchat_browser.py) drive it
if cli=$(ensure_agentcore_cli); then
  export AGENTCORE_CLI="$cli"
else
  say "warning: the agentcore CLI could not be installed; its tests will be skipped (they fail under CI=true)"
fi
exec uv run --frozen pytest "$@"

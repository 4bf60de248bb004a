#!/usr/bin/env bash
# Runs every test (offline). Installs what it needs: uv, the locked Python dependencies and,
# unless AGENTCORE_CLI points at one, the agentcore CLI (npm @aws/agentcore); Chromium and strace
# for the browser and rehearsal tests (apt-get when run as root; CHROMIUM names another binary). The tests build the web
# chat themselves (scripts/build-webchat.sh).
#   usage: scripts/test.sh [pytest args...]      every layer (the default)
#          scripts/test.sh -m unit              the fast layer: no subprocess, no socket (~10 s)
#          scripts/test.sh -m integration       local servers over real HTTP, moto
#          scripts/test.sh -m e2e               the real CLI, CDK synth, demo, browser, whole scripts
#          scripts/test.sh --help
# Layers are assigned in tests/support/layers.py; scripts/lint.sh runs ruff and mypy.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h|--help) usage_from_header "$0" ;; esac
cd "$REPO_ROOT"

ensure_python_deps
ensure_test_tools  # chromium (browser tests) and strace (rehearsal), from Debian's packages
if cli=$(ensure_agentcore_cli); then
  export AGENTCORE_CLI="$cli"
else
  say "warning: the agentcore CLI could not be installed; its tests will be skipped (they fail under CI=true)"
fi
exec uv run --frozen pytest "$@"

#!/usr/bin/env bash
# Lint and type checks, as CI runs them: ruff (pycodestyle, pyflakes, isort, bugbear, docstrings,
# unused noqa) and its formatter on everything; mypy strict on the deployed code (the agent and each
# Lambda, checked one folder at a time since each has its own `handler` module) and with the
# project's reasonable settings on scripts and tests (see pyproject.toml).
#   usage: scripts/lint.sh
#          scripts/lint.sh --help
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h|--help) usage_from_header "$0" ;; esac
ensure_python_deps
cd "$REPO_ROOT"
status=0
step() { say "== $*"; "$@" || status=1; }
step uv run --frozen ruff check app scripts tests
step uv run --frozen ruff format --check app scripts tests
for code in app/CustomerSupport app/WarrantyCheck app/AccountTools app/PreSignUp app/FrontDoorAuthorizer; do
  [ -d "$code" ] && step uv run --frozen mypy "$code"
done
step uv run --frozen mypy scripts tests
[ "$status" = 0 ] && say "lint: clean" || say "lint: problems above"
exit "$status"

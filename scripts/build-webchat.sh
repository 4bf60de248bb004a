#!/usr/bin/env bash
# Builds the web chat (app/WebChat) into app/WebChat/dist (ignored by git) and prints that path.
# Installs its npm packages first when missing or when package.json changed: exact versions from
# package.json, through scripts/npm-install-lagging.js so a lagging registry mirror still works.
#
#   usage: scripts/build-webchat.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
ensure_webchat_build
echo "$REPO_ROOT/app/WebChat/dist"

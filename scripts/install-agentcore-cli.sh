#!/usr/bin/env bash
# Installs the AgentCore CLI (npm @aws/agentcore) into a project-local prefix and prints the path of
# its `agentcore` binary on the last line of stdout.
#
#   usage: scripts/install-agentcore-cli.sh [PREFIX]     (default: .local/agentcore-cli)
#   env:   AGENTCORE_CLI_VERSION (default: the version in scripts/lib.sh)
#
# 1. A plain `npm install @aws/agentcore@VERSION` (the CLI's shrinkwrap pins every dependency).
# 2. When the registry (often a lagging corporate mirror) lacks a pinned version, the CLI's own
#    tarball is installed without its shrinkwrap, so npm resolves the declared ranges to what the
#    registry has; a package with no matching version at all is replaced by the newest one the
#    registry has, or an empty stand-in (scripts/npm-install-lagging.js). One line on stderr names
#    each substitute; the optional browser UI of `agentcore dev` is what may be lost.
# validate, package, dev --logs and invoke are the real CLI either way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h|--help) usage_from_header "$0" ;; esac
PREFIX="${1:-$REPO_ROOT/.local/agentcore-cli}"
VERSION="$AGENTCORE_CLI_VERSION"
BIN="$PREFIX/node_modules/.bin/agentcore"
NPM_TIMEOUT="${NPM_TIMEOUT_SECONDS:-900}"  # a hung registry must not hang setup forever

command -v npm >/dev/null 2>&1 || die "npm (Node.js 20+) is required for the agentcore CLI"
if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null | tail -n 1)" = "$VERSION" ]; then
  echo "$BIN"; exit 0
fi

mkdir -p "$PREFIX"
cd "$PREFIX"
rm -rf node_modules package.json package-lock.json pkg stubs install.log
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false npm_config_loglevel=error
echo '{"name":"agentcore-cli-host","version":"1.0.0","private":true}' > package.json

if timeout "$NPM_TIMEOUT" npm install --no-save --ignore-scripts "@aws/agentcore@$VERSION" >install.log 2>&1; then
  say "installed @aws/agentcore@$VERSION"
else
  say "the registry lacks a version @aws/agentcore@$VERSION pins (see $PREFIX/install.log); resolving its declared ranges instead"
  rm -rf node_modules package-lock.json
  tarball=$(timeout "$NPM_TIMEOUT" npm pack --silent "@aws/agentcore@$VERSION" 2>>install.log | tail -n 1)
  [ -f "$tarball" ] || die "the registry has no @aws/agentcore@$VERSION (see $PREFIX/install.log)"
  mkdir -p pkg
  tar -xzf "$tarball" -C pkg --strip-components=1
  rm -f "$tarball" pkg/npm-shrinkwrap.json
  echo "{\"name\":\"agentcore-cli-host\",\"version\":\"1.0.0\",\"private\":true,\"dependencies\":{\"@aws/agentcore\":\"file:$PREFIX/pkg\"}}" > package.json
  node "$REPO_ROOT/scripts/npm-install-lagging.js" "$PREFIX" || die "could not install the CLI (see $PREFIX/install.log)"
fi
# No telemetry from a development install; tests and CI have no network to send it to.
"$BIN" config telemetry.enabled false >/dev/null 2>&1 || true
[ "$("$BIN" --version 2>/dev/null | tail -n 1)" = "$VERSION" ] || die "the installed CLI does not run (see $PREFIX/install.log)"
echo "$BIN"

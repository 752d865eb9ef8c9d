#!/usr/bin/env bash
# Interoperability of mqbridge with Aedes, an MQTT 3.1.1 broker of another make (npm `aedes`),
# checked with MQTT.js clients: tests/interop/aedes/interop.mjs (what it checks: its header and
# tests/interop/README.md). Needs node >= 18 (Debian 12 has 18), npm and mosquitto; the npm packages come from the
# committed lockfile (offline from npm's cache when it can).
# Usage: bash tests/scripts/interop/aedes.sh <build-dir>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "FAIL no build dir '${1:-build}'"; exit 1; }
cd "$root"

for tool in node npm mosquitto; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL $tool not found (scripts/install-deps installs it)"; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "FAIL node $(node --version) is too old: aedes 0.51 and MQTT.js 5 need node >= 18"
  exit 1
fi
[ -x "$build/mqbridge" ] || { echo "FAIL no mqbridge in $build"; exit 1; }

(
  cd tests/interop/aedes
  npm ci --offline --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
    npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
) || { echo "FAIL npm ci in tests/interop/aedes"; exit 1; }

exec node tests/interop/aedes/interop.mjs "$build"

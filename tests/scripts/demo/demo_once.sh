#!/usr/bin/env bash
# The README's first quick-start command, as CI runs it: every route of examples/config delivers
# each message exactly once between two real brokers.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec scripts/demo --once

#!/usr/bin/env bash
# `mqbridge validate`: exit 0 + plan on stdout for examples/config and for its example that loads
# the out-of-tree stage as a plugin; exit 1 + every diagnostic (file:line:col) on stderr for a
# broken file or a missing plugin; exit 2 for a usage error.
# Usage: bash tests/scripts/config/validate.sh <build-dir>   (run from the repository root)
set -euo pipefail
build=$(cd "${1:?usage: validate.sh <build-dir>}" && pwd)
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin="$build/mqbridge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" validate -c "$root/examples/config" --instances >"$tmp/out" 2>"$tmp/err" \
  || fail "examples/config does not validate: $(cat "$tmp/err")"
grep -q 'subscription: \$share/group1/remote-topic' "$tmp/out" || fail "no shared subscription"
grep -q 'client IDs: factory-gateway-first-route-0 factory-gateway-first-route-1' "$tmp/out" \
  || fail "client IDs missing"
grep -q '^  instance 0:' "$tmp/out" || fail "no instance assignment"
[ ! -s "$tmp/err" ] || fail "unexpected stderr: $(cat "$tmp/err")"

# The stage plugin example, from a directory where its relative plugin path resolves to this
# build's copy of the example stage.
plugin_example="$root/examples/config/stage-plugin"
[ -f "$build/examples/stages/libcelsius_to_fahrenheit.so" ] || fail "example stage not built"
mkdir "$tmp/cwd"
ln -s "$build" "$tmp/cwd/build"
(cd "$tmp/cwd" && "$bin" validate -c "$plugin_example") >"$tmp/out" 2>"$tmp/err" \
  || fail "examples/config/stage-plugin does not validate: $(cat "$tmp/err")"
grep -q 'stages: topic_rewrite -> qos -> rate_limit -> celsius_to_fahrenheit' "$tmp/out" \
  || fail "plugin stage not in the chain: $(cat "$tmp/out")"
# Without the plugin the same file is refused, the error at the plugin's entry.
set +e
(cd "$tmp" && "$bin" validate -c "$plugin_example") >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "missing plugin: exit $rc, expected 1"
grep -q 'celsius-to-fahrenheit.yaml:[0-9]*:[0-9]*: error: spec.stagePlugins\[0\]' "$tmp/err" \
  || fail "missing plugin not located: $(cat "$tmp/err")"

set +e
"$bin" validate -c "$root/tests/data/config/mistakes.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "broken config: exit $rc, expected 1"
[ ! -s "$tmp/out" ] || fail "plan printed for a broken config"
n=$(grep -c ': error: ' "$tmp/err")
[ "$n" = 14 ] || fail "expected 14 errors, got $n: $(cat "$tmp/err")"
grep -q 'mistakes.yaml:34:12: error: spec.routes\[0\].qos: must be between 0 and 1, got 2' \
  "$tmp/err" || fail "qos error not located"

set +e
"$bin" validate -c "$root/examples/config" --no-such-flag >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown flag: exit $rc, expected 2"
echo "validate: ok"

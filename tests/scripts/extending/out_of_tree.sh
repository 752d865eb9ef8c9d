#!/usr/bin/env bash
# The out-of-tree stage example, end to end without brokers: install mqbridge into a temporary
# prefix, build examples/stages/celsius_to_fahrenheit against the installed package in a separate
# CMake project, then load the plugin with the *installed* mqbridge and run its behaviour file.
# Usage: bash tests/scripts/extending/out_of_tree.sh <build-dir>   (from the source root)
set -euo pipefail
build=$(cd "${1:?usage: out_of_tree.sh <build-dir>}" && pwd)
src=$(pwd)
example="$src/examples/stages/celsius_to_fahrenheit"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "out_of_tree.sh: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
[ -f "$tmp/prefix/lib/cmake/mqbridge/mqbridgeConfig.cmake" ] || fail "no package config installed"
[ -f "$tmp/prefix/include/mqbridge/pipeline/plugin.h" ] || fail "stage API headers not installed"

cmake -S "$example" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configure"; }
cmake --build "$tmp/build" -j2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build"; }
plugin="$tmp/build/libcelsius_to_fahrenheit.so"
[ -f "$plugin" ] || fail "plugin not built: $plugin"
# Only the two entry points are exported.
exported=$(nm -D --defined-only "$plugin" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ')
[ "$exported" = "mqbridge_stage_plugin_abi_version mqbridge_stage_plugin_v1 " ] ||
  fail "unexpected exported functions: $exported"

out="$tmp/out.txt"
"$tmp/prefix/bin/mqbridge" test --stage-plugin "$plugin" "$example/test.yaml" | tee "$out"
grep -q '^PASS .*: converts the field and keeps the rest$' "$out" || fail "conversion case"
grep -qx '3 passed, 0 failed' "$out" || fail "summary"

# A behaviour file that expects the wrong conversion must fail: the plugin really ran.
cat >"$tmp/wrong.yaml" <<'YAML'
stages: [{type: celsius_to_fahrenheit, field: t}]
tests:
  - name: wrong on purpose
    input: [{topic: x, json: {t: 100}}]
    expect: [{json: {t: 100}}]
YAML
rc=0
"$tmp/prefix/bin/mqbridge" test --stage-plugin "$plugin" "$tmp/wrong.yaml" >"$out" || rc=$?
cat "$out"
[ "$rc" -eq 1 ] || fail "expected exit 1, got $rc"
grep -qxF '    output[0].json: expected {"t":100}, got {"t":212.0}' "$out" || fail "diff line"
echo "out_of_tree.sh: example stage built against the installed package and loaded"

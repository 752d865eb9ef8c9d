#!/usr/bin/env bash
# Runs every route behaviour file in tests/routes/ with the built mqbridge, then checks that a
# deliberately failing file is reported as failing (exit 1, FAIL lines with readable differences).
# Usage: bash tests/scripts/behaviour/run.sh <build-dir>   (from the source root)
set -euo pipefail
build=${1:?usage: run.sh <build-dir>}
bin="$build/mqbridge"
[ -x "$bin" ] || { echo "run.sh: $bin not built" >&2; exit 1; }

shopt -s nullglob
files=(tests/routes/*.yaml)
[ ${#files[@]} -gt 0 ] || { echo "run.sh: no behaviour files in tests/routes" >&2; exit 1; }
"$bin" test "${files[@]}"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$bin" test tests/routes/failing/expected_failures.yaml >"$out" || rc=$?
cat "$out"
fail() { echo "run.sh: $*" >&2; exit 1; }
[ "$rc" -eq 1 ] || fail "expected exit 1 for the failing file, got $rc"
grep -qx 'PASS tests/routes/failing/expected_failures.yaml:7: this case passes' "$out" ||
  fail "the passing case was not reported as PASS"
grep -qx 'FAIL tests/routes/failing/expected_failures.yaml:10: wrong site expected' "$out" ||
  fail "missing FAIL line for 'wrong site expected'"
grep -qxF '    output[0].userProperties: expected [site="plant-b"], got [site="plant-a"]' "$out" ||
  fail "missing the userProperties difference"
grep -qx 'FAIL tests/routes/failing/expected_failures.yaml:13: expects a drop that does not happen' \
  "$out" || fail "missing FAIL line for the unexpected output"
grep -qx '1 passed, 2 failed' "$out" || fail "wrong summary line"
echo "run.sh: behaviour files pass; the failing file fails as expected"

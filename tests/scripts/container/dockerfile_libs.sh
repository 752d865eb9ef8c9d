#!/usr/bin/env bash
# deploy/container/Dockerfile cannot be built here (no Docker engine, no base image). This checks
# what can go wrong in it offline: every shared library <build-dir>/mqbridge loads (ldd) belongs to
# a Debian package that the runtime stage installs, directly or as a dependency, or that
# debian:bookworm-slim already holds (approximated as apt and its dependencies). Every package the
# runtime stage names must exist in Debian 12 (apt-cache). Negative case: the same check with one
# needed package taken off the list must fail.
# Usage: bash dockerfile_libs.sh <build-dir>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin="$(cd "${1:?usage: dockerfile_libs.sh <build-dir>}" && pwd)/mqbridge"
dockerfile="$root/deploy/container/Dockerfile"
[ -x "$bin" ] || { echo "FAIL: $bin not found"; exit 1; }
if ! command -v apt-cache >/dev/null || ! command -v dpkg >/dev/null; then
  echo "SKIPPED: needs a Debian host (apt-cache, dpkg)"
  exit 0
fi

# Packages of the runtime stage's `apt-get install` (after the last FROM).
mapfile -t listed < <(python3 - "$dockerfile" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
stage = text[text.rindex("\nFROM "):]
cmd = re.search(r"apt-get install(.*?)(&&|\n[A-Z]+ )", stage.replace("\\\n", " "), re.S).group(1)
print("\n".join(t for t in cmd.split() if not t.startswith("-")))
PY
)
[ "${#listed[@]}" -gt 0 ] || { echo "FAIL: no apt-get install in the Dockerfile's runtime stage"; exit 1; }

fails=0
for p in "${listed[@]}"; do
  apt-cache show "$p" >/dev/null 2>&1 || { echo "FAIL: runtime package $p is not in Debian's archive"; fails=$((fails + 1)); }
done

closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^[ <]' | sort -u
}
base=$(closure apt dpkg)

# Debian package of every library ldd resolves (usrmerge: try /usr/lib too).
needed=()
while read -r lib; do
  real=$(readlink -f "$lib")
  pkg=""
  for f in "$lib" "$real" "/usr$lib" "/usr$real" "${real#/usr}"; do
    pkg=$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "FAIL: no Debian package owns $lib"; fails=$((fails + 1)); continue; }
  needed+=("$pkg")
done < <(ldd "$bin" | awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' | sort -u)
mapfile -t needed < <(printf '%s\n' "${needed[@]}" | sort -u)

# check LISTED...: prints missing packages, returns 1 when any.
check() {
  local have missing=()
  have=$( (closure "$@"; echo "$base") | sort -u)
  for p in "${needed[@]}"; do
    grep -qx -- "$p" <<<"$have" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] || { echo "${missing[*]}"; return 1; }
}
if absent=$(check "${listed[@]}"); then
  echo "PASS: ${#needed[@]} packages behind mqbridge's libraries (${needed[*]}) are installed by" \
       "the runtime stage (${#listed[@]} listed) or in the base image"
else
  echo "FAIL: the Dockerfile's runtime stage lacks the packages of: $absent"
  fails=$((fails + 1))
fi

# Negative case: take a needed package that is neither in the base image nor pulled in by another
# listed package off the list; the check must then name it.
victim=""
for p in "${needed[@]}"; do
  grep -qx -- "$p" <<<"$base" && continue
  reduced=()
  for q in "${listed[@]}"; do [ "$q" = "$p" ] || reduced+=("$q"); done
  if out=$(check "${reduced[@]}"); then
    continue # another listed package brings it in
  fi
  victim=$p
  if grep -qw -- "$victim" <<<"$out"; then
    echo "PASS: negative case: a runtime list without $victim is rejected"
  else
    echo "FAIL: negative case: rejected without naming $victim: $out"
    fails=$((fails + 1))
  fi
  break
done
[ -n "$victim" ] || echo "note: no needed package can be taken off the list alone; no negative case"
[ "$fails" -eq 0 ] || exit 1

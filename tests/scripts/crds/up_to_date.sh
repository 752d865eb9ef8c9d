#!/usr/bin/env bash
# The committed CRDs (deploy/kubernetes/crds/) are exactly what `mqbridge crds` generates from
# config/schema.cc. To update them after a schema change:
#   build/mqbridge crds --output-dir deploy/kubernetes/crds
# Usage: bash tests/scripts/crds/up_to_date.sh <build-dir>   (run from the repository root)
set -euo pipefail
build=${1:?usage: up_to_date.sh <build-dir>}
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/mqbridge" crds --output-dir "$tmp"
status=0
for f in mqttbridgeconnectors.yaml mqttbridgetopicmaps.yaml; do
  if ! diff -u "$root/deploy/kubernetes/crds/$f" "$tmp/$f"; then
    echo "deploy/kubernetes/crds/$f is stale; regenerate with:" >&2
    echo "  $build/mqbridge crds --output-dir deploy/kubernetes/crds" >&2
    status=1
  fi
done
# Both CRDs also come out of the plain command, as two YAML documents.
test "$("$build/mqbridge" crds | grep -c '^kind: CustomResourceDefinition')" = 2
exit $status

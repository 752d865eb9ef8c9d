#!/usr/bin/env bash
# Offline checks of the Kubernetes deployment (no API server here; see docs/deployment.md):
#   1. `kubectl kustomize` renders deploy/kubernetes and deploy/kubernetes/crds;
#   2. every rendered object is a valid built-in kind (npm kubernetes-models);
#   3. every example custom resource validates against the CRDs' openAPIV3Schema (npm ajv, strict:
#      unknown fields rejected): the deployment's example config, tests/data/spec/ and
#      examples/config/ when present (spec fragments merged into the spec's complete resources);
#   4. deployment invariants (replicas = bridgeInstances, image = spec.image, mounts at the CLI's
#      default paths, grace period > drain deadline, probes, security context, RBAC, metrics);
#   5. `mqbridge validate --check-files` (from <build-dir>, when it has it) accepts the configuration
#      with the files laid out as the container's mounts would hold them;
#   6. deploy/operator renders and validates; what `mqbridge operator --render` generates (the
#      StatefulSet and Services per connector, each resource with its status) validates against
#      kubernetes-models and the CRDs' status schemas, and the CRDs' printer columns resolve on
#      that status (tests/k8s/printer_columns.py);
#   7. negative cases: each check above rejects a broken input.
# Usage: bash validate_manifests.sh <build-dir>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || build=""
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fails=0
pass() { echo "PASS $*"; }
failed() { echo "FAIL $*"; fails=$((fails + 1)); }
indent() { sed "s/^/    /"; }

# expect_fail NAME PATTERN CMD...: CMD must exit non-zero and print PATTERN (a grep -E regex).
expect_fail() {
  local name=$1 pattern=$2
  shift 2
  if "$@" >"$work/out" 2>&1; then
    failed "negative case '$name' was accepted"
    sed 's/^/    /' "$work/out"
  elif ! grep -Eq -- "$pattern" "$work/out"; then
    failed "negative case '$name' was rejected without naming /$pattern/:"
    sed 's/^/    /' "$work/out"
  else
    pass "negative case '$name' rejected: $(grep -E -m1 -- "$pattern" "$work/out" | cut -c1-150)"
  fi
}

# --- tools ------------------------------------------------------------------------------------
for tool in kubectl node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not found (scripts/install-deps installs it)"; exit 1; }
done
if ! kubectl kustomize --help >/dev/null 2>&1; then
  echo "FAIL this kubectl ($(kubectl version --client 2>&1 | head -1)) has no 'kustomize' command"
  exit 1
fi
echo "kubectl: $(kubectl version --client 2>/dev/null | head -1); node $(node --version)"

# --- node project: tests/k8s (lockfile committed; offline from npm's cache when it can) --------
(
  cd tests/k8s
  npm ci --offline --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
    npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
) || { echo "FAIL npm ci in tests/k8s"; exit 1; }
check() { node tests/k8s/check.mjs "$@"; }

# --- 1. render -----------------------------------------------------------------------------------
if kubectl kustomize deploy/kubernetes >"$work/rendered.yaml" 2>"$work/err" && [ ! -s "$work/err" ]; then
  pass "kubectl kustomize deploy/kubernetes ($(grep -c '^kind:' "$work/rendered.yaml") objects)"
else
  failed "kubectl kustomize deploy/kubernetes"; sed 's/^/    /' "$work/err"
fi
if kubectl kustomize deploy/kubernetes/crds >"$work/crds.yaml" 2>"$work/err" && [ ! -s "$work/err" ]; then
  pass "kubectl kustomize deploy/kubernetes/crds ($(grep -c '^kind:' "$work/crds.yaml") objects)"
else
  failed "kubectl kustomize deploy/kubernetes/crds"; sed 's/^/    /' "$work/err"
fi
# The --kube overlay: the same objects, the container reading the API instead of the ConfigMap.
if kubectl kustomize deploy/kubernetes-kube-api >"$work/kube-api.yaml" 2>"$work/err" \
    && [ ! -s "$work/err" ] && grep -q -- '- --kube$' "$work/kube-api.yaml" \
    && ! grep -q -- '- --config=' "$work/kube-api.yaml"; then
  pass "kubectl kustomize deploy/kubernetes-kube-api (args: --kube, no --config)"
else
  failed "kubectl kustomize deploy/kubernetes-kube-api"; sed 's/^/    /' "$work/err"
fi
mkdir -p "$work/broken"
printf 'resources:\n  - missing.yaml\n' >"$work/broken/kustomization.yaml"
expect_fail "kustomization naming a missing file" "missing.yaml" kubectl kustomize "$work/broken"

# --- 2. built-in objects -------------------------------------------------------------------------
if out=$(check builtin "$work/rendered.yaml" "$work/crds.yaml" 2>&1); then pass "$out"; else
  failed "built-in objects:"; indent <<<"$out"; fi
# kubernetes-models checks required fields, types and enums, not unknown optional fields (its
# schemas allow them): a misspelled required field and a wrong type are what it can catch.
sed -e 's/^      containers:$/      containerz:/' "$work/rendered.yaml" >"$work/bad_builtin1.yaml"
sed -e 's/^  replicas: \([0-9]*\)$/  replicas: "\1"/' "$work/rendered.yaml" >"$work/bad_builtin2.yaml"
expect_fail "StatefulSet with misspelled 'containers'" "required property containers" \
  check builtin "$work/bad_builtin1.yaml"
expect_fail "StatefulSet with replicas as a string" "spec/replicas must be integer" \
  check builtin "$work/bad_builtin2.yaml"

# --- 3. custom resources against the CRD schemas -------------------------------------------------
crds=(deploy/kubernetes/crds/mqttbridgeconnectors.yaml deploy/kubernetes/crds/mqttbridgetopicmaps.yaml)
examples=(deploy/kubernetes/config/bridge.yaml)
for dir in tests/data/spec examples/config; do
  if [ -d "$dir" ]; then
    while IFS= read -r f; do examples+=("$f"); done < <(find "$dir" -name '*.yaml' -o -name '*.yml' | sort)
  fi
done
echo "example files: ${#examples[@]} (${examples[*]})"
if out=$(check crs --crd "${crds[@]}" -- "${examples[@]}" 2>&1); then pass "$out"; else
  failed "custom resources:"; indent <<<"$out"; fi
expect_fail "MqttBridgeConnector with misspelled 'bridgeInstance'" "/spec/bridgeInstance: unknown field" \
  check crs --crd "${crds[@]}" -- tests/k8s/fixtures/bad_connector_misspelled.yaml
expect_fail "MqttBridgeTopicMap route with misspelled 'drection'" "/spec/routes/0/drection: unknown field" \
  check crs --crd "${crds[@]}" -- tests/k8s/fixtures/bad_topicmap_misspelled.yaml
expect_fail "spec-style routes fragment with misspelled 'groupname'" \
  "/spec/routes/0/sharedSubscription/groupname: unknown field" \
  check crs --crd "${crds[@]}" -- deploy/kubernetes/config/bridge.yaml tests/k8s/fixtures/bad_routes_fragment.yaml
expect_fail "MqttBridgeTopicMap route with qos 2" "/spec/routes/0/qos: must be <= 1" \
  check crs --crd "${crds[@]}" -- tests/k8s/fixtures/bad_topicmap_misspelled.yaml

# --- 4. deployment invariants --------------------------------------------------------------------
if out=$(check deploy "$work/rendered.yaml" 2>&1); then pass "$out"; else
  failed "deployment invariants:"; indent <<<"$out"; fi
sed -e 's/^  replicas: [0-9]*$/  replicas: 3/' -e 's/terminationGracePeriodSeconds: .*/terminationGracePeriodSeconds: 10/' \
  -e 's/audience: aio-mq/audience: api/' -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
  "$work/rendered.yaml" >"$work/bad_deploy.yaml"
expect_fail "replicas != bridgeInstances" "replicas 3 != connector spec.bridgeInstances" check deploy "$work/bad_deploy.yaml"
expect_fail "grace period not above the drain deadline" "terminationGracePeriodSeconds 10" check deploy "$work/bad_deploy.yaml"
expect_fail "SAT token with the wrong audience" "audience aio-mq" check deploy "$work/bad_deploy.yaml"
expect_fail "writable root filesystem" "readOnlyRootFilesystem" check deploy "$work/bad_deploy.yaml"

# --- 5. the bridge's own validator, on the files as the pod would see them ------------------------
# The container's mounts are laid out below a temporary root (generated ConfigMap data, a throwaway
# certificate for Secrets and CA ConfigMaps, a dummy SAT) and `mqbridge validate --check-files`
# runs with the container's path arguments moved there.
bin="$build/mqbridge"
if [ -z "$build" ] || [ ! -x "$bin" ]; then
  echo "NOT RUN: mqbridge validate --check-files (no mqbridge in '${1:-}')"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mqbridge-offline \
    -days 2 -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
  mapfile -t podargs < <(check podfs "$work/rendered.yaml" "$work/pod" "$work/cert.pem" "$work/key.pem")
  rc=0
  out=$("$bin" validate --check-files --instances "${podargs[@]}" 2>&1) || rc=$?
  if [ "$rc" -eq 70 ] && grep -q "not built yet" <<<"$out"; then
    echo "NOT RUN: mqbridge validate --check-files (not implemented in this build: $out)"
  elif [ "$rc" -eq 0 ]; then
    pass "mqbridge validate --check-files on the pod's mounts: $(grep -c '^  route ' <<<"$out") routes," \
      "$(grep -c '^  instance ' <<<"$out") instances"
    mkdir -p "$work/empty"
    noSecrets=("${podargs[@]/#--secrets-dir=*/--secrets-dir=$work/empty}")
    expect_fail "configuration whose Secret is not mounted" "Secret \"bridge-client-secret\"" \
      "$bin" validate --check-files "${noSecrets[@]}"
  else
    failed "mqbridge validate --check-files on the pod's mounts (exit $rc):"; indent <<<"$out"
  fi
fi

# --- 6. the operator: deploy/operator, and what `mqbridge operator` generates ---------------------
if kubectl kustomize deploy/operator >"$work/operator.yaml" 2>"$work/err" && [ ! -s "$work/err" ]; then
  pass "kubectl kustomize deploy/operator ($(grep -c '^kind:' "$work/operator.yaml") objects)"
  if out=$(check builtin "$work/operator.yaml" 2>&1); then pass "deploy/operator: $out"; else
    failed "deploy/operator built-in objects:"; indent <<<"$out"; fi
else
  failed "kubectl kustomize deploy/operator"; sed 's/^/    /' "$work/err"
fi
if [ ! -x "$bin" ]; then
  echo "NOT RUN: mqbridge operator --render ($bin not built)"
else
  # The StatefulSet and Services it would create for the example connector, and every resource
  # with the status it would write (one topic map the validator rejects).
  "$bin" operator --render deploy/kubernetes/config/bridge.yaml \
    tests/k8s/fixtures/invalid_topicmap_for_operator.yaml >"$work/generated.yaml"
  python3 - "$work/generated.yaml" "$work/generated-builtin.yaml" "$work/generated-crs.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
with open(sys.argv[2], "w") as b, open(sys.argv[3], "w") as c:
    for d in docs:
        out = c if d["apiVersion"].startswith("mq.iotoperations.azure.com/") else b
        out.write("---\n" + yaml.safe_dump(d))
PY
  if out=$(check builtin "$work/generated-builtin.yaml" 2>&1); then
    pass "operator-generated objects ($(grep -c '^kind:' "$work/generated-builtin.yaml")): $out"
  else
    failed "operator-generated objects:"; indent <<<"$out"; fi
  if out=$(check crs --crd "${crds[@]}" -- "$work/generated-crs.yaml" 2>&1); then
    pass "resources with the operator's status against the CRDs' status schemas: $out"
  else
    failed "operator status against the CRDs:"; indent <<<"$out"; fi
  # The spec's own connector (managed identity to Event Grid), with the Arc agent named: its
  # IDENTITY_ENDPOINT, hostPath key directory and mount are valid objects too.
  "$bin" operator --render tests/data/spec/01-connector.yaml \
    --arc-identity-endpoint http://10.0.0.1:40342/metadata/identity/oauth2/token \
    | python3 -c 'import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if not d["apiVersion"].startswith("mq.iotoperations.azure.com/"):
        sys.stdout.write("---\n" + yaml.safe_dump(d))' >"$work/generated-arc.yaml"
  if ! grep -q "hostPath" "$work/generated-arc.yaml"; then
    failed "operator --render --arc-identity-endpoint: no hostPath for the managed identity"
  elif out=$(check builtin "$work/generated-arc.yaml" 2>&1); then
    pass "operator-generated objects for managed identity through Azure Arc: $out"
  else
    failed "operator-generated objects (Azure Arc):"; indent <<<"$out"; fi
  # The CRDs' printer columns, evaluated on the resources with the operator's status as `kubectl
  # get` would (its JSONPath subset: .a.b and .a[?(@.k=="v")].b): each resolves, and shows.
  if out=$(python3 tests/k8s/printer_columns.py "$work/generated-crs.yaml" "${crds[@]}" 2>&1); then
    pass "printer columns resolve on the operator's status:"; indent <<<"$out"
  else
    failed "printer columns:"; indent <<<"$out"; fi
  sed -e 's/jsonPath: .status.ready$/jsonPath: .status.readyz/' "${crds[0]}" >"$work/bad_columns.yaml"
  expect_fail "a printer column with a misspelled path" "column Ready" \
    python3 tests/k8s/printer_columns.py "$work/generated-crs.yaml" "$work/bad_columns.yaml"
  if grep -q "must be a whole level" "$work/generated-crs.yaml"; then
    pass "the invalid topic map's status carries the validator's message"
  else
    failed "the invalid topic map's status lacks the validator's message"; fi
  sed -e 's/readyInstances:/readyInstancez:/' "$work/generated-crs.yaml" >"$work/bad_status.yaml"
  expect_fail "connector status with misspelled 'readyInstances'" "/status/readyInstancez: unknown field" \
    check crs --crd "${crds[@]}" -- "$work/bad_status.yaml"
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all k8s checks passed"

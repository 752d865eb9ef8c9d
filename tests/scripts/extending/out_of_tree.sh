#!/usr/bin/env bash
# The out-of-tree stage example, end to end: install mqbridge into a temporary prefix, build
# examples/stages/celsius_to_fahrenheit against the installed package in a separate CMake project,
# load the plugin with the *installed* mqbridge and run its behaviour file; then load it from a
# connector's `stagePlugins` in `mqbridge run` between two real mosquitto brokers (free loopback
# ports) and check its effect on the bridged messages.
# Usage: bash tests/scripts/extending/out_of_tree.sh <build-dir>   (from the source root)
set -euo pipefail
build=$(cd "${1:?usage: out_of_tree.sh <build-dir>}" && pwd)
src=$(pwd)
example="$src/examples/stages/celsius_to_fahrenheit"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "out_of_tree.sh: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
[ -f "$tmp/prefix/lib/cmake/mqbridge/mqbridgeConfig.cmake" ] || fail "no package config installed"
[ -f "$tmp/prefix/include/mqbridge/pipeline/plugin.h" ] || fail "stage API headers not installed"
# The stage API needs neither yaml-cpp nor prometheus, and includes only installed headers.
inc="$tmp/prefix/include/mqbridge"
if grep -rnE '#include <(yaml-cpp|prometheus)/' "$inc"; then fail "a stage API header pulls yaml-cpp or prometheus"; fi
for h in $(grep -rhoE '#include "[^"]+"' "$inc" | sed 's/#include "\(.*\)"/\1/' | sort -u); do
  [ -f "$inc/$h" ] || fail "installed headers include $h, which is not installed"
done

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

# --- Between two real brokers: a connector loads the plugin with stagePlugins. ---
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
waitport() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  fail "nothing listening on port $1"
}
local_port=$(freeport); remote_port=$(freeport); metrics_port=$(freeport)
for side in local remote; do
  port_var="${side}_port"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "${!port_var}" \
    >"$tmp/$side.conf"
  mosquitto -c "$tmp/$side.conf" >"$tmp/$side.log" 2>&1 &
  pids+=($!)
  waitport "${!port_var}"
done
mkdir -p "$tmp/config"
cat >"$tmp/config/bridge.yaml" <<YAML
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: c2f-bridge
spec:
  image:
    repository: mcr.microsoft.com/azureiotoperations/mqttbridge
  protocol: v5
  clientIdPrefix: c2f-
  remoteBrokerConnection:
    endpoint: 127.0.0.1:$remote_port
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {}
  localBrokerConnection:
    endpoint: 127.0.0.1:$local_port
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {}
  stagePlugins:
    - $plugin
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: c2f-map
spec:
  mqttBridgeConnectorRef: c2f-bridge
  routes:
    - direction: local-to-remote
      name: temps
      source: plant/+/temp
      target: cloud/temps
      stages:
        - type: celsius_to_fahrenheit
          field: temperature
YAML
"$tmp/prefix/bin/mqbridge" validate -c "$tmp/config" >"$out" || { cat "$out"; fail "validate"; }
grep -q 'rate_limit -> celsius_to_fahrenheit' "$out" || { cat "$out"; fail "stage chain"; }
"$tmp/prefix/bin/mqbridge" run -c "$tmp/config" --metrics-address "127.0.0.1:$metrics_port" \
  --state-dir "$tmp/state" >"$tmp/bridge.log" 2>&1 &
bridge=$!
pids+=("$bridge")
ready=0
for _ in $(seq 300); do
  if curl -fs "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$bridge" 2>/dev/null || break
  sleep 0.05
done
[ "$ready" -eq 1 ] || { cat "$tmp/bridge.log"; fail "bridge not ready"; }
mosquitto_sub -h 127.0.0.1 -p "$remote_port" -i c2f-check -t 'cloud/#' -q 1 -v -C 3 -W 20 \
  >"$tmp/sub.txt" &
sub=$!
for _ in $(seq 200); do grep -q "as c2f-check" "$tmp/remote.log" && break; sleep 0.05; done
mosquitto_pub -h 127.0.0.1 -p "$local_port" -q 1 -t plant/a/temp -m '{"temperature":100,"unit":"C"}'
mosquitto_pub -h 127.0.0.1 -p "$local_port" -q 1 -t plant/b/temp -m '{"temperature":"warm"}'
mosquitto_pub -h 127.0.0.1 -p "$local_port" -q 1 -t plant/c/temp -m '{"temperature":-40}'
mosquitto_pub -h 127.0.0.1 -p "$local_port" -q 1 -t plant/d/temp -m '{"temperature":37}'
wait "$sub" || { cat "$tmp/sub.txt" "$tmp/bridge.log"; fail "expected 3 converted messages"; }
cat "$tmp/sub.txt"
python3 - "$tmp/sub.txt" <<'PY' || fail "converted messages"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
got = [(l.split(" ", 1)[0], json.loads(l.split(" ", 1)[1])) for l in lines]
want = [("cloud/temps", {"temperature": 212.0, "unit": "C"}),
        ("cloud/temps", {"temperature": -40.0}),
        ("cloud/temps", {"temperature": 98.6})]
assert len(got) == 3, got
for (t, j), (wt, wj) in zip(got, want):
    assert t == wt, (t, wt)
    assert j.keys() == wj.keys(), (j, wj)
    for k in wj:
        assert j[k] == wj[k] if not isinstance(wj[k], float) else abs(j[k] - wj[k]) < 1e-9, (j, wj)
PY
# The non-numeric one was counted as a stage error; the route kept going.
metrics=$(curl -fs "http://127.0.0.1:$metrics_port/metrics")
dropped=$("$build/mqb_prom_sum" mqbridge_messages_dropped_total 'route="temps"' 'reason="stage_error"' <<<"$metrics")
[ "$dropped" = 1 ] || { grep dropped <<<"$metrics"; fail "stage_error counted $dropped times, want 1"; }
kill -TERM "$bridge"
rc=0; wait "$bridge" || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/bridge.log"; fail "bridge exit status $rc"; }
echo "out_of_tree.sh: example stage built against the installed package, loaded by the test" \
  "runner and by a connector's stagePlugins between two real brokers"

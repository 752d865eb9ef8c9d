#!/usr/bin/env bash
# `mqbridge loadtest --sink null --json` on the spec's example resources prints one JSON object
# with the figures; --sink route is refused clearly until the MQTT sink is built in (update the
# last check when app/cmd_loadtest.cc routeSinkFactory() is wired to sinks/mqtt).
set -euo pipefail
build=${1:?usage: loadtest_json.sh <build-dir>}
bin="$build/mqbridge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/bridge.yaml" <<'YAML'
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: my-mqtt-bridge
  namespace: azure-iot-operations
spec:
  image:
    repository: mcr.microsoft.com/azureiotoperations/mqttbridge
    tag: 0.1.0-preview
    pullPolicy: IfNotPresent
  protocol: v5
  bridgeInstances: 1
  clientIdPrefix: factory-gateway-
  logLevel: debug
  remoteBrokerConnection:
    endpoint: example.westeurope-1.ts.eventgrid.azure.net:8883
    tls:
      tlsEnabled: true
    authentication:
      systemAssignedManagedIdentity:
        audience: https://eventgrid.azure.net
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: my-topic-map
  namespace: azure-iot-operations
spec:
  mqttBridgeConnectorRef: my-mqtt-bridge
  routes:
    - direction: remote-to-local
      name: first-route
      qos: 0
      source: remote-topic
      target: local-topic
      sharedSubscription:
        groupMinimumShareNumber: 3
        groupName: group1
    - direction: local-to-remote
      name: second-route
      qos: 1
      source: local-topic
      target: remote-topic
YAML

for route in first-route second-route; do
  out=$("$bin" loadtest -c "$tmp/bridge.yaml" --route "$route" --count 200000 --sink null --json)
  echo "$out"
  python3 - "$out" "$route" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
assert j["route"] == sys.argv[2], j
assert j["messages"] == 200000, j
assert j["seconds"] > 0 and j["messagesPerSecond"] > 0, j
lat = j["latencyMicros"]
assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
assert j["branches"] == (3 if sys.argv[2] == "first-route" else 1), j
PY
done

set +e
err=$("$bin" loadtest -c "$tmp/bridge.yaml" --route second-route --sink route 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "--sink route: expected exit 2, got $rc"; exit 1; }
grep -q "needs the MQTT sink" <<<"$err" || { echo "unexpected: $err"; exit 1; }
echo "ok"

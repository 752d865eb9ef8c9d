#!/usr/bin/env bash
# `mqbridge loadtest --sink null --json` on the spec's example resources prints one JSON object
# with the figures; --sink route publishes through the route's real MQTT sink to a mosquitto
# started on a free loopback port, and a subscriber there gets every message.
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

# --sink route: the route's real MQTT publisher against a real broker (loopback, free port).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
CONF
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
broker=$!
trap 'kill "$broker" 2>/dev/null; wait "$broker" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
sed -e "s/example.westeurope-1.ts.eventgrid.azure.net:8883/127.0.0.1:$port/" \
    -e 's/tlsEnabled: true/tlsEnabled: false/' \
    -e 's/systemAssignedManagedIdentity:/anonymous: {}/' -e '/audience:/d' \
    "$tmp/bridge.yaml" > "$tmp/route.yaml"
# A subscriber on the target broker counts what the loadtest publishes on remote-topic.
mosquitto_sub -h 127.0.0.1 -p "$port" -i loadtest-check -t remote-topic -q 1 -C 2000 -W 30 \
  >"$tmp/sub.txt" &
sub=$!
for _ in $(seq 200); do grep -q "loadtest-check" "$tmp/mosquitto.log" 2>/dev/null && break; sleep 0.05; done
out=$("$bin" loadtest -c "$tmp/route.yaml" --route second-route --count 2000 --sink route --json)
echo "$out"
python3 - "$out" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
assert j["sink"] == "route" and j["route"] == "second-route", j
assert j["messages"] == 2000 and j["dropped"] == 0, j
assert j["seconds"] > 0 and j["messagesPerSecond"] > 0, j
lat = j["latencyMicros"]
assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
PY
wait "$sub" || { echo "--sink route: the subscriber did not get 2000 messages"; exit 1; }
[ "$(wc -l <"$tmp/sub.txt")" -eq 2000 ] || { echo "--sink route: got $(wc -l <"$tmp/sub.txt")"; exit 1; }
grep -q "as factory-gateway-second-route-loadtest" "$tmp/mosquitto.log" ||
  { echo "--sink route: publisher client ID not seen"; cat "$tmp/mosquitto.log"; exit 1; }
echo "ok"

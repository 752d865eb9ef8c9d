#!/usr/bin/env bash
# End-to-end observability of the real `mqbridge run` binary (issue 6):
#   a. two real mosquitto brokers, a known number of messages per route, a real Prometheus on
#      loopback scraping the bridge: forwarded counters == messages sent, latency histogram count
#      == messages sent (through the HTTP query API);
#   b. `promtool check metrics` on a live scrape of the bridge;
#   c. a stalled route (a fake MQTT server that CONNACKs but stops PUBACKing) shows in metrics:
#      in-flight > 0, forwarded stops, last delivery timestamp stops advancing, and the
#      MqbridgeRouteStalled expression of deploy/prometheus/mqbridge-rules.yml fires for it only;
#   d. /readyz turns 503 when the remote broker stops and 200 when it returns (times printed);
#   e. status topic: retained "online" while running, "offline" after SIGTERM and (the MQTT will)
#      after SIGKILL;
#   f. logs: key=value lines, --log-json objects, debug per-message lines at logLevel debug,
#      the remote broker's password never appears in the output.
# usage: bridge_observability.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=tests/support/prometheus.sh
source "$root/tests/support/prometheus.sh"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(readlink -f "$1")
bridge_bin=$build/mqbridge
[ -x "$bridge_bin" ] || mqb_fail "$bridge_bin not built (cmake --build $build --target mqbridge)"
[ -x "$build/mqb_prom_sum" ] || mqb_fail "$build/mqb_prom_sum not built (cmake --build $build --target mqb_prom_sum)"
# prom_sum NAME [label="value"...] < scrape: the sum of the matching samples (tests/tools/prom_sum.cc)
prom_sum() { "$build/mqb_prom_sum" "$@"; }
trap mqb_cleanup EXIT
work=$(mqb_tempdir)
MQB_DIRS+=("$work")  # mqb_tempdir ran in a subshell: record the dir here for mqb_cleanup

N_UP=100   # messages local -> remote
N_DOWN=70  # messages remote -> local
PASSWORD="s3cr3t-Pa55-$RANDOM$RANDOM"
STALL_ACKS=3

# ---- brokers ----
local_port=$(mqb_free_port)
remote_port=$(mqb_free_port)
mosquitto_passwd -b -c "$work/passwd" bridge "$PASSWORD" >/dev/null 2>&1
broker_conf() {  # NAME PORT [auth]
  {
    # as root, mosquitto would otherwise switch to its own user, who cannot read $work
    printf 'user %s\n' "$(id -un)"
    printf 'listener %s 127.0.0.1\nmax_queued_messages 0\npersistence false\n' "$2"
    # log_dest file: stdout into a file is block-buffered, lines would show up late
    printf 'log_type all\nlog_dest file %s\nconnection_messages true\n' "$work/$1.log"
    if [ "${3:-}" = auth ]; then
      printf 'allow_anonymous false\npassword_file %s\n' "$work/passwd"
    else
      printf 'allow_anonymous true\n'
    fi
  } >"$work/$1.conf"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_broker() {  # NAME PORT: sets the pid in BROKER_PID_<NAME>
  mosquitto -c "$work/$1.conf" >>"$work/$1.out" 2>&1 &
  local pid=$!
  MQB_PIDS+=("$pid")
  printf -v "BROKER_PID_$1" '%s' "$pid"
  mqb_wait_until 20 port_open "$2" || mqb_fail "broker $1 does not listen: $(tail -3 "$work/$1.out")"
}
broker_conf local "$local_port"
broker_conf remote "$remote_port" auth
start_broker local "$local_port"
start_broker remote "$remote_port"
"$MQB_PY" "$root/tests/support/fake_mqtt_server.py" --port-file "$work/fake.port" \
  --ack "$STALL_ACKS" >"$work/fake.log" 2>&1 &
MQB_PIDS+=($!)
mqb_wait_until 20 test -s "$work/fake.port" || mqb_fail "fake MQTT server did not start"
stall_port=$(cat "$work/fake.port")
mqb_log "brokers: local :$local_port, remote :$remote_port (password), stalling fake :$stall_port"

# ---- configuration: connector obs (two routes), connector stall (target never acknowledges) ----
mkdir -p "$work/config" "$work/secrets/remote-cred" "$work/state"
printf 'bridge' >"$work/secrets/remote-cred/username"
printf '%s\n' "$PASSWORD" >"$work/secrets/remote-cred/password"
cat >"$work/config/bridge.yaml" <<YAML
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: obs
spec:
  image: {repository: mqbridge, tag: test}
  protocol: v5
  bridgeInstances: 1
  clientIdPrefix: obs-
  logLevel: debug
  # short, so the broker publishes the will soon after SIGKILL (1.5 x keep-alive); Paho pings
  # too late for a 2 s keep-alive and mosquitto drops the connection
  keepAliveSeconds: 4
  remoteBrokerConnection:
    endpoint: 127.0.0.1:$remote_port
    tls: {tlsEnabled: false}
    authentication:
      usernamePassword: {secretName: remote-cred}
  localBrokerConnection:
    endpoint: 127.0.0.1:$local_port
    tls: {tlsEnabled: false}
    authentication: {anonymous: {}}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: obs-map
spec:
  mqttBridgeConnectorRef: obs
  routes:
    - {name: up, direction: local-to-remote, qos: 1, source: "up/#", target: cloud/up}
    - {name: down, direction: remote-to-local, qos: 1, source: "down/#", target: edge/down}
    - name: slow
      direction: local-to-remote
      qos: 1
      source: "slow/#"
      target: cloud/slow
      rateLimit: {messagesPerSecond: 20, burstMessages: 1}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: stall
spec:
  image: {repository: mqbridge, tag: test}
  protocol: v5
  bridgeInstances: 1
  clientIdPrefix: stall-
  logLevel: info
  remoteBrokerConnection:
    endpoint: 127.0.0.1:$stall_port
    tls: {tlsEnabled: false}
    authentication: {anonymous: {}}
  localBrokerConnection:
    endpoint: 127.0.0.1:$local_port
    tls: {tlsEnabled: false}
    authentication: {anonymous: {}}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: stall-map
spec:
  mqttBridgeConnectorRef: stall
  routes:
    - {name: stuck, direction: local-to-remote, qos: 1, source: "stall/#", target: cloud/stall}
YAML
"$bridge_bin" validate -c "$work/config" --secrets-dir "$work/secrets" >"$work/validate.log" 2>&1 ||
  mqb_fail "config invalid: $(cat "$work/validate.log")"

metrics_port=$(mqb_free_port)
base=http://127.0.0.1:$metrics_port
BRIDGE_PID=""
start_bridge() {  # LOGFILE [extra run options...]
  local log=$1
  shift
  "$bridge_bin" run -c "$work/config" --secrets-dir "$work/secrets" --state-dir "$work/state" \
    --metrics-address "127.0.0.1:$metrics_port" "$@" >"$log" 2>&1 &
  BRIDGE_PID=$!
  MQB_PIDS+=("$BRIDGE_PID")
  local t0=$SECONDS
  mqb_wait_until 30 mqb_http_is 200 "$base/readyz" ||
    mqb_fail "bridge not ready: $(curl -s "$base/readyz"; tail -20 "$log")"
  mqb_log "bridge pid $BRIDGE_PID ready after $((SECONDS - t0))s"
}
# retained value of a local topic ("" if none within 3 s)
retained() {
  mosquitto_sub -h 127.0.0.1 -p "$local_port" -t "$1" --retained-only -C 1 -W 3 2>/dev/null || true
}
status_is() { [ "$(retained mqbridge/obs/status)" = "$1" ]; }
now_ms() { date +%s%3N; }

start_bridge "$work/bridge1.log"

# ---- e. status online (default topic mqbridge/<connector>/status) ----
mqb_wait_until 10 status_is online || mqb_fail "status: want online, got '$(retained mqbridge/obs/status)'"
[ "$(retained mqbridge/stall/status)" = online ] || mqb_fail "stall connector status not online"
mqb_log "ok: mqbridge/obs/status and mqbridge/stall/status are retained 'online'"

# ---- a. known message counts through both routes, scraped by a real Prometheus ----
mqb_start_prometheus "$work" "127.0.0.1:$metrics_port" "$root/deploy/prometheus/mqbridge-rules.yml"
mqb_prom_wait 'sum(up{job="mqbridge"})' 1 30
mosquitto_sub -h 127.0.0.1 -p "$remote_port" -u bridge -P "$PASSWORD" -i test-sub -t cloud/up -q 1 \
  -C "$N_UP" -W 60 >"$work/got-up.txt" 2>"$work/sub-up.err" &
sub_up=$!
mosquitto_sub -h 127.0.0.1 -p "$local_port" -i test-sub -t edge/down -q 1 -C "$N_DOWN" -W 60 \
  >"$work/got-down.txt" 2>"$work/sub-down.err" &
sub_down=$!
subscribed() { grep -q "Received SUBSCRIBE from test-sub" "$work/$1.log"; }
mqb_wait_until 10 subscribed remote || mqb_fail "test subscriber on remote did not subscribe"
mqb_wait_until 10 subscribed local || mqb_fail "test subscriber on local did not subscribe"
seq 1 "$N_UP" | sed 's/^/up-/' |
  mosquitto_pub -h 127.0.0.1 -p "$local_port" -t up/sensor -q 1 -l
seq 1 "$N_DOWN" | sed 's/^/down-/' |
  mosquitto_pub -h 127.0.0.1 -p "$remote_port" -u bridge -P "$PASSWORD" -t down/cmd -q 1 -l
wait "$sub_up" || mqb_fail "remote subscriber got $(wc -l <"$work/got-up.txt")/$N_UP"
wait "$sub_down" || mqb_fail "local subscriber got $(wc -l <"$work/got-down.txt")/$N_DOWN"
mqb_log "ok: subscribers received $N_UP (cloud/up) and $N_DOWN (edge/down)"
sel_up='connector="obs",route="up",direction="local_to_remote"'
sel_down='connector="obs",route="down",direction="remote_to_local"'
mqb_prom_wait "sum(mqbridge_messages_forwarded_total{$sel_up})" "$N_UP" 30
mqb_prom_wait "sum(mqbridge_messages_forwarded_total{$sel_down})" "$N_DOWN" 30
mqb_prom_wait "sum(mqbridge_delivery_latency_seconds_count{$sel_up})" "$N_UP" 30
mqb_prom_wait "sum(mqbridge_delivery_latency_seconds_count{$sel_down})" "$N_DOWN" 30
mqb_prom_wait "sum(mqbridge_messages_received_total{$sel_up})" "$N_UP" 30
mqb_prom_wait "sum(mqbridge_messages_received_total{$sel_down})" "$N_DOWN" 30
up_bytes=$(seq 1 "$N_UP" | sed 's/^/up-/' | tr -d '\n' | wc -c)
mqb_prom_wait "sum(mqbridge_forwarded_bytes_total{$sel_up})" "$up_bytes" 30
mqb_prom_wait "sum(mqbridge_received_bytes_total{$sel_up})" "$up_bytes" 30
mqb_prom_wait 'sum(mqbridge_messages_inflight{connector="obs"})' 0 30
mqb_prom_wait 'sum(mqbridge_messages_dropped_total{connector="obs"})' 0 30
mqb_prom_wait 'sum(mqbridge_client_connected{connector="obs"})' 6 30
mqb_prom_wait 'sum(mqbridge_client_subscribed{connector="obs"})' 3 30
mqb_prom_wait 'count(mqbridge_build_info)' 1 30
mqb_prom_wait 'mqbridge_config_generation' 1 30
# rate limiter: 20 messages at once, 20/s with a burst of 1: message k waits about k/20 s, the
# counter sums them: about 0.05 * (0 + 1 + ... + 19) = 9.5 s
seq 1 20 | mosquitto_pub -h 127.0.0.1 -p "$local_port" -t slow/x -q 1 -l
mqb_prom_wait 'sum(mqbridge_messages_forwarded_total{connector="obs",route="slow"})' 20 30
wait_s=$(mqb_prom_query 'sum(mqbridge_rate_limit_wait_seconds_total{connector="obs",route="slow"})')
"$MQB_PY" -c "import sys; sys.exit(0 if 5 <= float('$wait_s') <= 15 else 1)" ||
  mqb_fail "rate limit wait $wait_s s for 20 messages at 20/s, want about 9.5"
mqb_log "measured: route slow waited ${wait_s}s in the rate limiter for 20 messages at 20/s"
p50=$(mqb_prom_query "histogram_quantile(0.5, sum by (le) (mqbridge_delivery_latency_seconds_bucket{$sel_up}))")
p99=$(mqb_prom_query "histogram_quantile(0.99, sum by (le) (mqbridge_delivery_latency_seconds_bucket{$sel_up}))")
mqb_log "measured: route up latency p50 ${p50}s p99 ${p99}s (from the histogram buckets)"

# ---- b. promtool check metrics on a live scrape ----
curl -sf --max-time 5 "$base/metrics" >"$work/scrape.txt"
if ! promtool check metrics <"$work/scrape.txt" >"$work/promtool.out" 2>&1 || [ -s "$work/promtool.out" ]; then
  mqb_fail "promtool check metrics: $(cat "$work/promtool.out")"
fi
mqb_log "ok: promtool check metrics: no problems in $(grep -vc '^#' "$work/scrape.txt") samples"
if grep -E 'topic=|up/sensor|down/cmd' "$work/scrape.txt" >/dev/null; then
  mqb_fail "a topic appears in the metrics (unbounded label)"
fi

# ---- c. stalled route ----
sel_stall='connector="stall",route="stuck"'
stall_query() {
  # the MqbridgeRouteStalled expression from the rules file, its 10m windows shortened to 10s
  "$MQB_PY" - "$root/deploy/prometheus/mqbridge-rules.yml" <<'PY'
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        if r.get("alert") == "MqbridgeRouteStalled":
            print(r["expr"].replace("[10m]", "[10s]"))
PY
}
stall_expr=$(stall_query)
[ -n "$stall_expr" ] || mqb_fail "no MqbridgeRouteStalled alert in the rules file"
stall_firing_for() {  # prints the routes the expression returns, as connector/route
  curl -s --max-time 5 --get --data-urlencode "query=$stall_expr" \
    "http://127.0.0.1:$PROM_PORT/api/v1/query" | "$MQB_PY" -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join(sorted("%s/%s" % (x["metric"]["connector"], x["metric"]["route"]) for x in r["data"]["result"])))'
}
for i in $(seq 1 "$STALL_ACKS"); do echo "stall-$i"; done |
  mosquitto_pub -h 127.0.0.1 -p "$local_port" -t stall/a -q 1 -l
mqb_prom_wait "sum(mqbridge_messages_forwarded_total{$sel_stall})" "$STALL_ACKS" 30
last1=$(mqb_prom_query "max(mqbridge_last_delivery_timestamp_seconds{$sel_stall})")
if [ "$last1" = none ] || [ "${last1%%.*}" -le 0 ]; then mqb_fail "no last delivery time: $last1"; fi
# from now on the fake server acknowledges nothing; wait out the shortened window so the
# expression can only see the stall
t_acks=$SECONDS
window_passed() { [ $((SECONDS - t_acks)) -ge 12 ]; }
mqb_wait_until 30 window_passed
seq 1 5 | sed 's/^/stuck-/' | mosquitto_pub -h 127.0.0.1 -p "$local_port" -t stall/a -q 1 -l
mqb_prom_wait "sum(mqbridge_messages_received_total{$sel_stall})" $((STALL_ACKS + 5)) 30
mqb_prom_wait "sum(mqbridge_messages_inflight{$sel_stall})" 5 30
stall_fires() { [ "$(stall_firing_for)" = "stall/stuck" ]; }
t0=$SECONDS
mqb_wait_until 30 stall_fires || mqb_fail "stall expression returns '$(stall_firing_for)', want stall/stuck"
mqb_log "ok: MqbridgeRouteStalled expression (10m -> 10s) returns only stall/stuck, after $((SECONDS - t0))s"
seq 1 5 | sed 's/^/more-/' | mosquitto_pub -h 127.0.0.1 -p "$local_port" -t stall/a -q 1 -l
mqb_prom_wait "sum(mqbridge_messages_inflight{$sel_stall})" 10 30
mqb_prom_wait "sum(mqbridge_messages_forwarded_total{$sel_stall})" "$STALL_ACKS" 5
last2=$(mqb_prom_query "max(mqbridge_last_delivery_timestamp_seconds{$sel_stall})")
[ "$last1" = "$last2" ] || mqb_fail "last delivery time moved during the stall: $last1 -> $last2"
age=$(mqb_prom_query "time() - max(mqbridge_last_delivery_timestamp_seconds{$sel_stall})")
[ "$(mqb_prom_query 'sum(mqbridge_client_connected{connector="stall"})')" = 2 ] ||
  mqb_fail "the stalled route's clients should still be connected"
mqb_log "ok: stalled route: connected, forwarded stays $STALL_ACKS, inflight 10, last delivery ${age}s ago"

# ---- d. readiness follows the remote broker ----
t=$(now_ms)
# shellcheck disable=SC2154  # set by start_broker through printf -v
kill -TERM "$BROKER_PID_remote"
wait "$BROKER_PID_remote" 2>/dev/null || true
mqb_wait_until 20 mqb_http_is 503 "$base/readyz" || mqb_fail "/readyz stayed 200 with the remote broker down"
down_ms=$(($(now_ms) - t))
curl -s "$base/readyz" >"$work/readyz-down.txt" || true
grep -q 'side=remote' "$work/readyz-down.txt" || mqb_fail "/readyz does not name the remote clients: $(cat "$work/readyz-down.txt")"
t=$(now_ms)
start_broker remote "$remote_port"
mqb_wait_until 60 mqb_http_is 200 "$base/readyz" || mqb_fail "/readyz did not recover: $(curl -s "$base/readyz")"
up_ms=$(($(now_ms) - t))
mqb_log "measured: /readyz 503 ${down_ms} ms after the remote broker stopped; 200 ${up_ms} ms after it restarted"
mqb_log "  /readyz while down: $(tr '\n' ';' <"$work/readyz-down.txt")"
curl -sf "$base/metrics" >"$work/scrape2.txt"
lost=$(prom_sum mqbridge_client_connect_failures_total 'connector="obs"' 'reason="lost"' <"$work/scrape2.txt")
reconn=$(prom_sum mqbridge_client_reconnects_total 'connector="obs"' <"$work/scrape2.txt")
[ "$lost" -ge 2 ] || mqb_fail "connect_failures{reason=lost} = $lost, want >= 2 (pub and sub on remote)"
[ "$reconn" -ge 2 ] || mqb_fail "reconnects = $reconn, want >= 2"
mqb_log "ok: connect_failures{reason=lost} = $lost, reconnects = $reconn"

# ---- f. logs (key=value, debug per message, no secret) ----
log1=$work/bridge1.log
grep -q 'event=mqtt_received' "$log1" || mqb_fail "no per-message debug line at logLevel debug"
grep -q 'event=mqtt_publish' "$log1" || mqb_fail "no per-publish debug line at logLevel debug"
bad=$(grep -cvE '^ts=[0-9T:.-]+Z level=(debug|info|warn|error) event=[a-z_]+( |$)' "$log1" || true)
[ "$bad" = 0 ] || mqb_fail "$bad log lines are not key=value events: $(grep -vE '^ts=' "$log1" | head -3)"
mqb_log "ok: $(wc -l <"$log1") key=value log lines, $(grep -c 'level=debug' "$log1") at debug"

# ---- e. status offline after SIGTERM ----
t=$(now_ms)
kill -TERM "$BRIDGE_PID"
wait "$BRIDGE_PID" || mqb_fail "bridge exited $? on SIGTERM"
status_is offline || mqb_fail "status after SIGTERM: '$(retained mqbridge/obs/status)'"
mqb_log "ok: status 'offline' after SIGTERM (bridge stopped in $(($(now_ms) - t)) ms)"

# ---- f. JSON logs; e. status offline after SIGKILL (the will) ----
start_bridge "$work/bridge2.log" --log-json --log-level info
mqb_wait_until 10 status_is online || mqb_fail "status not online after restart"
"$MQB_PY" - "$work/bridge2.log" <<'PY' || mqb_fail "--log-json output is not one JSON object per line"
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert {"ts", "level", "event"} <= o.keys(), o
    assert o["level"] != "debug", o
    n += 1
assert n > 0
print("json log lines:", n)
PY
# A frozen bridge (SIGSTOP: its connections stay open, nothing answers): the broker publishes the
# will once 1.5 x keepAliveSeconds pass without a packet.
t=$(now_ms)
kill -STOP "$BRIDGE_PID"
mqb_wait_until 20 status_is offline || mqb_fail "status with the bridge frozen: '$(retained mqbridge/obs/status)'"
frozen_ms=$(($(now_ms) - t))
[ "$frozen_ms" -ge 4000 ] || mqb_fail "will after ${frozen_ms} ms, before the keep-alive could expire"
mqb_log "measured: will 'offline' retained ${frozen_ms} ms after SIGSTOP (keepAliveSeconds 4: broker waits 6 s)"
kill -CONT "$BRIDGE_PID"
mqb_wait_until 20 status_is online || mqb_fail "status not online again after SIGCONT"
# A killed bridge: the kernel closes its sockets, the broker publishes the will at once.
t=$(now_ms)
kill -KILL "$BRIDGE_PID"
wait "$BRIDGE_PID" 2>/dev/null || true
mqb_wait_until 15 status_is offline || mqb_fail "status after SIGKILL: '$(retained mqbridge/obs/status)'"
mqb_log "measured: will 'offline' retained $(($(now_ms) - t)) ms after SIGKILL"

for f in "$work"/bridge*.log; do
  if grep -qF "$PASSWORD" "$f"; then mqb_fail "the password appears in $(basename "$f")"; fi
done
mqb_log "ok: the password appears in no bridge output ($(cat "$work"/bridge*.log | wc -l) lines)"

# ---- e. with bridgeInstances > 1 each instance has its own status topic <statusTopic>/<index> ----
mkdir -p "$work/multi"
cat >"$work/multi/bridge.yaml" <<YAML
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: multi
spec:
  image: {repository: mqbridge, tag: test}
  protocol: v5
  bridgeInstances: 2
  clientIdPrefix: multi-
  remoteBrokerConnection:  # anonymous on the password broker: CONNACK "not authorized"
    endpoint: 127.0.0.1:$remote_port
    tls: {tlsEnabled: false}
    authentication: {anonymous: {}}
  localBrokerConnection:
    endpoint: 127.0.0.1:$local_port
    tls: {tlsEnabled: false}
    authentication: {anonymous: {}}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: multi-map
spec:
  mqttBridgeConnectorRef: multi
  routes:
    - {name: m, direction: local-to-remote, qos: 1, source: "multi/in", target: multi/out}
YAML
multi_port=$(mqb_free_port)
"$bridge_bin" run -c "$work/multi" --state-dir "$work/state" --instance-index 0 \
  --metrics-address "127.0.0.1:$multi_port" >"$work/bridge-multi.log" 2>&1 &
multi_pid=$!
MQB_PIDS+=("$multi_pid")
multi_online() { [ "$(retained mqbridge/multi/status/0)" = online ]; }
mqb_wait_until 20 multi_online || mqb_fail "mqbridge/multi/status/0 not online: $(tail -5 "$work/bridge-multi.log")"
[ -z "$(retained mqbridge/multi/status)" ] || mqb_fail "instance 0 published on the shared topic"
not_authorized() {
  local n
  n=$(curl -sf --max-time 5 "http://127.0.0.1:$multi_port/metrics" |
    prom_sum mqbridge_client_connect_failures_total 'reason="not_authorized"')
  [ "${n:-0}" -ge 1 ]
}
mqb_wait_until 20 not_authorized ||
  mqb_fail "a refused CONNACK is not counted as connect_failures{reason=not_authorized}"
[ "$(mqb_http_status "http://127.0.0.1:$multi_port/readyz")" = 503 ] ||
  mqb_fail "/readyz is not 503 while the remote refuses the bridge"
mqb_log "ok: refused credentials: connect_failures{reason=not_authorized} >= 1, /readyz 503"
kill -TERM "$multi_pid"
wait "$multi_pid" || mqb_fail "multi-instance bridge exited $? on SIGTERM"
[ "$(retained mqbridge/multi/status/0)" = offline ] || mqb_fail "mqbridge/multi/status/0 not offline"
mqb_log "ok: instance 0 of a 2-instance connector: mqbridge/multi/status/0 online, then offline"

# ---- a/b again through prometheus_scrape.sh: a fresh bridge as --target (its lint, probes,
# alert rules healthy, every dashboard query valid and every metric it and the rules use
# exported by the real bridge) ----
# after-start: wait (bounded) until the new bridge subscribed on both brokers, then publish
subs_local=$(grep -c "Received SUBSCRIBE from obs-up" "$work/local.log" || true)
subs_remote=$(grep -c "Received SUBSCRIBE from obs-down" "$work/remote.log" || true)
cat >"$work/after-start.sh" <<SH
set -e
for _ in \$(seq 1 150); do
  [ "\$(grep -c 'Received SUBSCRIBE from obs-up' $work/local.log)" -gt $subs_local ] &&
    [ "\$(grep -c 'Received SUBSCRIBE from obs-down' $work/remote.log)" -gt $subs_remote ] && break
  sleep 0.1
done
seq 1 10 | mosquitto_pub -h 127.0.0.1 -p $local_port -t up/again -q 1 -l
seq 1 10 | mosquitto_pub -h 127.0.0.1 -p $remote_port -u bridge -P '$PASSWORD' -t down/again -q 1 -l
SH
after="bash $work/after-start.sh"
bash "$root/tests/scripts/metrics/prometheus_scrape.sh" "$build" \
  --target "$bridge_bin run -c $work/config --secrets-dir $work/secrets --state-dir $work/state --log-level warn --metrics-address 127.0.0.1:@PORT@" \
  --after-start "$after" \
  --expect "sum(mqbridge_messages_forwarded_total{$sel_up})=10" \
  --expect "sum(mqbridge_messages_forwarded_total{$sel_down})=10" \
  --expect "sum(mqbridge_delivery_latency_seconds_count{$sel_up})=10" \
  --expect "sum(mqbridge_delivery_latency_seconds_count{$sel_down})=10" \
  --expect 'sum(mqbridge_messages_inflight{connector="obs"})=0' \
  --expect 'count(mqbridge_build_info)=1' ||
  mqb_fail "prometheus_scrape.sh against the bridge failed"
mqb_log "PASS"

#!/usr/bin/env bash
# Container test: builds the minimal image with scripts/build-image (buildah, offline, from
# <build-dir>/mqbridge), loads the exported archive into podman and runs it on the host network:
#   1. `mqbridge version` in the container prints the same version as the host binary, and the image
#      runs as the non-root user 65532 with entrypoint `mqbridge run`;
#   2. when this build's `mqbridge run` works: against two loopback mosquitto brokers (free ports,
#      max_queued_messages 0), with the configuration and a Secret mounted at the CLI's default
#      paths and a read-only root filesystem (as in deploy/kubernetes), /healthz answers, 50 QoS 1
#      messages flow each way, /metrics answers, /readyz is 200 and SIGTERM stops the container
#      with exit status 0. A build whose `run` says "not built yet" gets part 1 only, and the script
#      says so ("SKIPPED: message-flow part").
#   3. the operator: `mqbridge operator --help` runs in the container (the same image runs the
#      operator Deployment of deploy/operator with command [mqbridge, operator]).
# Prints "SKIPPED: reason" and exits 77, which ctest reports as a skip (SKIP_RETURN_CODE, set in
# tests/CMakeLists.txt), never as a pass, where buildah/podman cannot run (not root, packages not
# installable, the kernel refuses the container). All container storage lives in a temporary
# directory that is removed at the end.
# Usage: bash run_image.sh <build-dir>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:?usage: run_image.sh <build-dir>}" && pwd)
bin="$build/mqbridge"
cd "$root"

skip() { echo "SKIPPED: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }
log() { echo "== $*"; }

[ -x "$bin" ] || die "$bin not found (build the mqbridge target first)"
[ "$(id -u)" -eq 0 ] || skip "needs root (buildah/podman with the vfs driver and runc, no user namespaces)"
if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  scripts/install-deps buildah podman runc >/dev/null 2>&1 ||
    skip "buildah/podman/runc are not installed and scripts/install-deps could not install them"
fi
for t in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd curl; do
  command -v "$t" >/dev/null || die "$t not found (scripts/install-deps installs it)"
done

start=$(date +%s)
work=$(mktemp -d /tmp/mqb-container.XXXXXX)
chmod 755 "$work"
had_containers_dir=0
[ -e /var/lib/containers ] && had_containers_dir=1
S="$work/storage"
P=(podman --root "$S/root" --runroot "$S/runroot" --tmpdir "$S/tmp" --storage-driver vfs
   --runtime runc --cgroup-manager cgroupfs --events-backend file)
name="mqb-test-$$"
pids=()
cleanup() {
  set +e
  "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1
  "${P[@]}" rmi -a -f >/dev/null 2>&1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  # Anything podman/buildah left mounted below the work dir, then the dir itself.
  grep -o " ${work}[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  # containers/image keeps a blob-info cache in /var/lib/containers/cache whatever --root says.
  [ "$had_containers_dir" -eq 1 ] || rm -rf /var/lib/containers
}
trap cleanup EXIT

# --- 1. build, load, start -------------------------------------------------------------------------
log "build the image (scripts/build-image)"
scripts/build-image --no-install --build-dir "$build" --output "$work/image.oci.tar" \
  --storage "$work/buildah" || die "scripts/build-image failed"
version=$("$bin" version | awk '{print $2}')
image="localhost/mqbridge:$version"

log "podman load + run version"
"${P[@]}" load -q -i "$work/image.oci.tar" >/dev/null || die "podman load of the oci-archive failed"
RUN=(run --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
if ! out=$("${P[@]}" "${RUN[@]}" --rm --entrypoint '["mqbridge", "version"]' "$image" 2>&1); then
  case "$out" in
    *"operation not permitted"*|*"Operation not permitted"*|*cgroup*|*namespace*|*"permission denied"*)
      skip "podman cannot start a container here: $(echo "$out" | tail -1)" ;;
  esac
  die "mqbridge version in the container failed: $out"
fi
[ "$out" = "$("$bin" version)" ] || die "container says '$out', host binary says '$("$bin" version)'"
echo "container: $out"
cfg=$("${P[@]}" image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "$image")
[ "$cfg" = '65532:65532 ["mqbridge","run"]' ] || die "image user/entrypoint is '$cfg'"
echo "image: user 65532:65532, entrypoint [mqbridge run], $(du -k "$work/image.oci.tar" | cut -f1) KiB archive"
out=$("${P[@]}" "${RUN[@]}" --rm --entrypoint '["mqbridge", "operator", "--help"]' "$image" 2>&1) ||
  die "mqbridge operator --help in the container failed: $out"
grep -q -- "--namespace" <<<"$out" || die "mqbridge operator --help in the container: $out"
echo "operator: mqbridge operator --help runs in the image"

# --- 2. message flow against two loopback brokers ---------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  local deadline=$(($(date +%s) + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "nothing listens on 127.0.0.1:$1"
    sleep 0.05
  done
}
local_port=$(free_port)
remote_port=$(free_port)
metrics_port=$(free_port)
mkdir -p "$work/brokers"
mosquitto_passwd -b -c "$work/brokers/passwd" bridge bridge-password >/dev/null 2>&1
for b in local remote; do
  port_var="${b}_port"
  {
    echo "listener ${!port_var} 127.0.0.1"
    echo "max_queued_messages 0"
    echo "persistence false"
    if [ "$b" = remote ]; then
      echo "allow_anonymous false"
      echo "password_file $work/brokers/passwd"
    else
      echo "allow_anonymous true"
    fi
  } >"$work/brokers/$b.conf"
  mosquitto -c "$work/brokers/$b.conf" >"$work/brokers/$b.log" 2>&1 &
  pids+=($!)
done
wait_port "$local_port"
wait_port "$remote_port"

# The configuration and a Secret, mounted where deploy/kubernetes mounts them.
mkdir -p "$work/config" "$work/secret" "$work/spool"
printf 'bridge' >"$work/secret/username"
printf 'bridge-password' >"$work/secret/password"
chmod 755 "$work/config" "$work/secret"
chmod 644 "$work/secret/"*
chown 65532:65532 "$work/spool"
cat >"$work/config/bridge.yaml" <<EOF
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: container-test
spec:
  image:
    repository: localhost/mqbridge
    tag: "$version"
    pullPolicy: Never
  protocol: v5
  bridgeInstances: 1
  clientIdPrefix: ctest-$$-
  logLevel: info
  remoteBrokerConnection:
    endpoint: 127.0.0.1:$remote_port
    tls:
      tlsEnabled: false
    authentication:
      usernamePassword:
        secretName: remote-credentials
  localBrokerConnection:
    endpoint: 127.0.0.1:$local_port
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: container-test
spec:
  mqttBridgeConnectorRef: container-test
  routes:
    - direction: local-to-remote
      name: up
      qos: 1
      source: factory/telemetry/#
    - direction: remote-to-local
      name: down
      qos: 1
      source: cloud/commands
      target: factory/commands
EOF
chmod 644 "$work/config/bridge.yaml"

log "run the bridge in the container (local :$local_port, remote :$remote_port, metrics :$metrics_port)"
"${P[@]}" "${RUN[@]}" -d --name "$name" --read-only \
  -v "$work/config:/etc/mqbridge:ro" \
  -v "$work/secret:/var/run/secrets/mqbridge/remote-credentials:ro" \
  -v "$work/spool:/var/lib/mqbridge" \
  "$image" --config /etc/mqbridge --metrics-address "127.0.0.1:$metrics_port" --drain-seconds 2 \
  >/dev/null || die "podman run -d failed"

# Bounded wait for the HTTP endpoint (liveness); a build whose `run` is not implemented yet exits
# at once. Readiness is checked after messages have flowed (it must hold by then).
deadline=$(($(date +%s) + 30))
while :; do
  if curl -fsS -o /dev/null "http://127.0.0.1:$metrics_port/healthz" 2>/dev/null; then break; fi
  state=$("${P[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$name" 2>/dev/null || echo "gone 255")
  if [ "${state%% *}" != running ]; then
    logs=$("${P[@]}" logs "$name" 2>&1 | tail -5)
    code=${state##* }
    if [ "$code" = 70 ] || grep -q "not built yet" <<<"$logs"; then
      echo "container image checks passed; message flow not tested: this build's 'mqbridge run'" \
           "is not implemented (exit $code: $(head -1 <<<"$logs"))"
      skip "message-flow part ('mqbridge run' not available in $bin)"
    fi
    die "the bridge container exited ($state) before /readyz answered:"$'\n'"$logs"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    die "/healthz did not answer 200 within 30 s; logs:"$'\n'"$("${P[@]}" logs "$name" 2>&1 | tail -10)"
  fi
  sleep 0.2
done
echo "/healthz 200 after $(($(date +%s) - start)) s"

# flow NAME PUB_PORT PUB_TOPIC SUB_PORT SUB_TOPIC: probes until the route carries a message (the
# subscriptions have settled), then sends 50 numbered QoS 1 messages and expects each exactly once.
# The remote broker wants the bridge's credentials from test clients too.
auth() { if [ "$1" = "$remote_port" ]; then echo "-u bridge -P bridge-password"; fi; }
flow() {
  local what=$1 pport=$2 ptopic=$3 sport=$4 stopic=$5
  local out="$work/$what.out" n=50
  : >"$out"
  # shellcheck disable=SC2046
  mosquitto_sub -h 127.0.0.1 -p "$sport" $(auth "$sport") -V mqttv5 -q 1 -t "$stopic" \
    -i "ctest-sub-$what-$$" >"$out" 2>"$work/$what.err" &
  local sub=$!
  pids+=("$sub")
  local deadline=$(($(date +%s) + 20)) i=0
  until grep -q '^probe' "$out"; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what: no probe message arrived within 20 s"
    # shellcheck disable=SC2046
    mosquitto_pub -h 127.0.0.1 -p "$pport" $(auth "$pport") -V mqttv5 -q 1 -t "$ptopic" \
      -m "probe-$i" 2>/dev/null || true
    i=$((i + 1))
    sleep 0.2
  done
  for m in $(seq 1 "$n"); do
    # shellcheck disable=SC2046
    mosquitto_pub -h 127.0.0.1 -p "$pport" $(auth "$pport") -V mqttv5 -q 1 -t "$ptopic" \
      -m "msg-$m" || die "$what: mosquitto_pub failed"
  done
  deadline=$(($(date +%s) + 20))
  until [ "$(grep -c '^msg-' "$out")" -ge "$n" ]; do
    [ "$(date +%s)" -lt "$deadline" ] ||
      die "$what: $(grep -c '^msg-' "$out") of $n messages arrived within 20 s"
    sleep 0.1
  done
  local distinct
  distinct=$(grep '^msg-' "$out" | sort -u | wc -l)
  [ "$distinct" -eq "$n" ] || die "$what: $distinct distinct of $n messages"
  kill "$sub" 2>/dev/null || true
  echo "$what: $n/$n messages arrived"
}
log "message flow"
flow local-to-remote "$local_port" factory/telemetry/line1 "$remote_port" factory/telemetry/line1
flow remote-to-local "$remote_port" cloud/commands "$local_port" factory/commands

log "/metrics"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt" || die "/metrics did not answer"
grep -q '^# TYPE ' "$work/metrics.txt" || die "/metrics answered without Prometheus text"
echo "/metrics: $(grep -c '^# TYPE ' "$work/metrics.txt") metric families"
deadline=$(($(date +%s) + 10))
until curl -fsS -o /dev/null "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    readyz=$(curl -sS -w ' (HTTP %{http_code})' "http://127.0.0.1:$metrics_port/readyz" 2>&1 || true)
    die "/readyz is not 200 although messages flow on every route: $readyz"
  fi
  sleep 0.2
done
echo "/readyz 200"

log "SIGTERM"
"${P[@]}" stop -t 15 "$name" >/dev/null
code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || die "the bridge exited with $code on SIGTERM; logs:"$'\n'"$("${P[@]}" logs "$name" 2>&1 | tail -5)"
echo "stopped with exit status 0"
echo "PASS container test ($(($(date +%s) - start)) s)"

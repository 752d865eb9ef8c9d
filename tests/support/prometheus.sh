# shellcheck shell=bash
# Sourceable helpers for script tests that scrape a process with a real Prometheus server
# (Debian package `prometheus`) on loopback. Bounded polls only; every process started here is
# recorded and stopped by mqb_cleanup (call it from an EXIT trap):
#
#   source tests/support/prometheus.sh
#   trap mqb_cleanup EXIT
#   work=$(mqb_tempdir)
#   mqb_start_prometheus "$work" "127.0.0.1:$port"      # sets PROM_PORT
#   mqb_prom_wait 'sum(up{job="mqbridge"})' 1 30        # polls the HTTP query API

MQB_PIDS=()
MQB_DIRS=()
MQB_PY=/usr/bin/python3
[ -x "$MQB_PY" ] || MQB_PY=python3

mqb_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mqb_fail() { mqb_log "FAIL: $*"; exit 1; }

# Stops every recorded process (TERM, then KILL after 5 s) and removes the temp dirs.
mqb_cleanup() {
  local pid i
  for pid in "${MQB_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${MQB_PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  MQB_PIDS=()
  if [ "${MQB_KEEP_TMP:-0}" = 1 ]; then
    mqb_log "kept ${MQB_DIRS[*]}"
  else
    for d in "${MQB_DIRS[@]}"; do rm -rf "$d"; done
  fi
  MQB_DIRS=()
}

mqb_tempdir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/mqb-test.XXXXXX")
  MQB_DIRS+=("$d")
  echo "$d"
}

# Prints a TCP port that was free on 127.0.0.1 a moment ago.
mqb_free_port() {
  "$MQB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# mqb_wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds; 1 if it never did.
mqb_wait_until() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  while true; do
    if "$@"; then return 0; fi
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.2
  done
}

# mqb_http_status URL: prints the HTTP status (000 if no answer).
mqb_http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
mqb_http_is() { [ "$(mqb_http_status "$2")" = "$1" ]; }

# mqb_start_prometheus WORKDIR TARGET [RULE_FILE...]: writes a config scraping TARGET (host:port)
# every second as job "mqbridge" (rules evaluated every second), starts Prometheus on a free
# loopback port with its TSDB under WORKDIR, waits until it is ready. Sets PROM_PORT, PROM_PID.
mqb_start_prometheus() {
  local work=$1 target=$2
  shift 2
  local cfg=$work/prometheus.yml attempt
  {
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
    if [ $# -gt 0 ]; then
      printf 'rule_files:\n'
      for r in "$@"; do printf '  - %s\n' "$(readlink -f "$r")"; done
    fi
    printf 'scrape_configs:\n  - job_name: mqbridge\n    static_configs:\n'
    printf '      - targets: ["%s"]\n' "$target"
  } >"$cfg"
  promtool check config "$cfg" >"$work/promtool-config.log" 2>&1 ||
    mqb_fail "generated prometheus config is invalid: $(cat "$work/promtool-config.log")"
  for attempt in 1 2 3; do
    PROM_PORT=$(mqb_free_port)
    mkdir -p "$work/tsdb"
    prometheus --config.file="$cfg" --storage.tsdb.path="$work/tsdb" \
      --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
      >"$work/prometheus.log" 2>&1 &
    PROM_PID=$!
    MQB_PIDS+=("$PROM_PID")
    if mqb_wait_until 30 mqb_prom_ready; then
      mqb_log "prometheus ready on 127.0.0.1:$PROM_PORT (pid $PROM_PID), scraping $target"
      return 0
    fi
    kill -KILL "$PROM_PID" 2>/dev/null || true
    mqb_log "prometheus attempt $attempt failed: $(tail -3 "$work/prometheus.log")"
  done
  mqb_fail "prometheus did not start"
}

mqb_prom_ready() {
  kill -0 "$PROM_PID" 2>/dev/null || return 1
  mqb_http_is 200 "http://127.0.0.1:$PROM_PORT/-/ready"
}

# mqb_prom_query QUERY: prints the value of an instant query: the single sample's value, or
# "none" for an empty result, "error: ..." for a query error.
mqb_prom_query() {
  curl -s --max-time 5 --get --data-urlencode "query=$1" \
    "http://127.0.0.1:$PROM_PORT/api/v1/query" | "$MQB_PY" -c '
import json, sys
try:
    r = json.load(sys.stdin)
except Exception as e:
    print("error: bad response:", e); sys.exit(0)
if r.get("status") != "success":
    print("error:", r.get("errorType"), r.get("error")); sys.exit(0)
d = r["data"]
if d["resultType"] == "scalar":
    print(d["result"][1]); sys.exit(0)
res = d["result"]
if not res:
    print("none")
elif len(res) > 1:
    print("error: %d series: %s" % (len(res), [x["metric"] for x in res]))
else:
    v = res[0]["value"][1]
    f = float(v)
    print(int(f) if f == int(f) else v)
'
}

# mqb_prom_wait QUERY EXPECTED SECONDS: polls until the query's value equals EXPECTED (as printed
# by mqb_prom_query); fails the test with the last value otherwise.
mqb_prom_wait() {
  local q=$1 want=$2 secs=$3 got end=$((SECONDS + $3))
  while true; do
    got=$(mqb_prom_query "$q")
    if [ "$got" = "$want" ]; then
      mqb_log "ok: $q = $got"
      return 0
    fi
    [ "$SECONDS" -ge "$end" ] && mqb_fail "$q: want $want, got '$got' after ${secs}s"
    sleep 0.5
  done
}

#!/usr/bin/env bash
# Live scrape checks of a process serving mqbridge metrics:
#   1. /metrics answers, `promtool check metrics` passes with no lint problem;
#      /healthz is 200 and /readyz turns 200 (skip with --no-ready);
#   2. a real Prometheus (loopback, scrape_interval 1s, the deploy/ alert rules loaded) scrapes it,
#      and each --expect 'PROMQL=VALUE' holds through the HTTP query API;
#   3. every expression of deploy/grafana/mqbridge-dashboard.json is valid PromQL on that server and
#      every mqbridge_* metric that the dashboard and the alert rules use exists in the scrape.
#
# usage: prometheus_scrape.sh BUILD_DIR [--target 'CMD'] [--after-start 'CMD'] [--no-ready]
#                                       [--expect 'PROMQL=VALUE']... [--timeout SECONDS]
#   --target       the process to check; @PORT@ in CMD is replaced by a free loopback port that it
#                  must serve /metrics on (e.g. "mqbridge run -c cfg.yaml --metrics-address
#                  127.0.0.1:@PORT@"); without @PORT@ it must print "port=N" on stdout.
#                  Default: BUILD_DIR/mqb_metrics_demo with known counts and the default expects.
#   --after-start  run once the target serves /metrics (e.g. publish the known messages); must
#                  exit 0.
#   --expect       PromQL whose single result must equal VALUE (polled up to --timeout, 30 s).
#   --no-ready     do not require /readyz 200.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=tests/support/prometheus.sh
source "$root/tests/support/prometheus.sh"

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [options]" >&2; exit 2; }
build=$(readlink -f "$1")
shift
target=""
after_start=""
need_ready=1
timeout=30
expects=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift ;;
    --after-start) after_start=$2; shift ;;
    --expect) expects+=("$2"); shift ;;
    --no-ready) need_ready=0 ;;
    --timeout) timeout=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$target" ]; then
  demo=$build/mqb_metrics_demo
  [ -x "$demo" ] || mqb_fail "$demo not built (cmake --build $build --target mqb_metrics_demo)"
  target="$demo --address 127.0.0.1:@PORT@ --routes 2 --messages 100 --drops 3"
  if [ ${#expects[@]} -eq 0 ]; then
    expects=(
      'sum(mqbridge_messages_forwarded_total{connector="demo",route="r1"})=100'
      'sum(mqbridge_messages_forwarded_total{connector="demo",route="r2"})=100'
      'sum(mqbridge_delivery_latency_seconds_count{connector="demo",route="r1"})=100'
      'sum(mqbridge_delivery_latency_seconds_count{connector="demo",route="r2"})=100'
      'sum(mqbridge_messages_received_total{connector="demo"})=206'
      'sum(mqbridge_messages_dropped_total{connector="demo",reason="expired"})=6'
      'count(mqbridge_messages_dropped_total{connector="demo",route="r1"})=11'  # every reason
      'sum(mqbridge_client_connected{connector="demo"})=4'
      'sum(mqbridge_messages_inflight{connector="demo"})=0'
      'count(mqbridge_build_info)=1'
    )
  fi
fi
for e in "${expects[@]}"; do
  [[ "$e" == *=* ]] || mqb_fail "--expect '$e' is not PROMQL=VALUE"
done

trap mqb_cleanup EXIT
work=$(mqb_tempdir)
MQB_DIRS+=("$work")  # mqb_tempdir ran in a subshell: record the dir here for mqb_cleanup

# ---- 1. start the target and find its port ----
port=""
if [[ "$target" == *@PORT@* ]]; then
  port=$(mqb_free_port)
  target=${target//@PORT@/$port}
fi
mqb_log "target: $target"
bash -c "exec $target" >"$work/target.out" 2>"$work/target.err" &
target_pid=$!
MQB_PIDS+=("$target_pid")
target_alive() { kill -0 "$target_pid" 2>/dev/null; }
if [ -z "$port" ]; then
  found_port() { port=$(sed -n 's/^port=\([0-9]\+\)$/\1/p' "$work/target.out" | head -1); [ -n "$port" ]; }
  mqb_wait_until "$timeout" found_port ||
    mqb_fail "target printed no port=N: $(tail -5 "$work/target.err")"
fi
base=http://127.0.0.1:$port
metrics_up() { target_alive && mqb_http_is 200 "$base/metrics"; }
mqb_wait_until "$timeout" metrics_up ||
  mqb_fail "no 200 from $base/metrics (target alive: $(target_alive && echo yes || echo no)): $(tail -5 "$work/target.err")"
mqb_log "target serves $base/metrics"
if [ -n "$after_start" ]; then
  mqb_log "after-start: $after_start"
  bash -c "$after_start" || mqb_fail "--after-start command failed"
fi

# ---- 2. endpoint and lint checks ----
curl -sf --max-time 5 "$base/metrics" >"$work/scrape.txt"
ct=$(curl -s -o /dev/null -w '%{content_type}' --max-time 5 "$base/metrics")
[[ "$ct" == text/plain* ]] || mqb_fail "/metrics content type is '$ct'"
set +e
promtool check metrics <"$work/scrape.txt" >"$work/promtool.out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ] || [ -s "$work/promtool.out" ]; then
  mqb_fail "promtool check metrics (exit $rc): $(cat "$work/promtool.out")"
fi
mqb_log "ok: promtool check metrics: no problems in $(grep -vc '^#' "$work/scrape.txt") samples"
[ "$(mqb_http_status "$base/healthz")" = 200 ] || mqb_fail "/healthz is not 200"
if [ "$need_ready" = 1 ]; then
  mqb_wait_until "$timeout" mqb_http_is 200 "$base/readyz" ||
    mqb_fail "/readyz is not 200: $(curl -s --max-time 5 "$base/readyz")"
  mqb_log "ok: /healthz and /readyz are 200"
fi
[ "$(mqb_http_status "$base/no-such-path")" = 404 ] || mqb_fail "unknown path is not 404"

# ---- 3. a real Prometheus scrapes it ----
mqb_start_prometheus "$work" "127.0.0.1:$port" "$root"/deploy/prometheus/*rules*.yml
mqb_prom_wait 'sum(up{job="mqbridge"})' 1 "$timeout"
for e in "${expects[@]}"; do
  mqb_prom_wait "${e%=*}" "${e##*=}" "$timeout"
done
# the alert rules loaded and evaluate without errors
rules_ok() {
  curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/rules" | "$MQB_PY" -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
sys.exit(0 if rules and not bad else 1)'
}
mqb_wait_until "$timeout" rules_ok || mqb_fail "alert rules not healthy: $(curl -s "http://127.0.0.1:$PROM_PORT/api/v1/rules")"
mqb_log "ok: alert rules loaded and evaluate"

# ---- 4. dashboard queries are valid and use existing metrics ----
"$MQB_PY" - "$root/deploy/grafana/mqbridge-dashboard.json" "$root"/deploy/prometheus/*rules*.yml \
  "$work/scrape.txt" "$PROM_PORT" <<'PY'
import json, re, sys, urllib.parse, urllib.request
dash_path, *rule_paths, scrape_path, prom_port = sys.argv[1:]
dash = json.load(open(dash_path))
exprs = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
for v in dash["templating"]["list"]:
    q = v.get("query")
    if isinstance(q, dict):
        m = re.match(r"label_values\((.*),\s*\w+\)$", q["query"])
        if m:
            exprs.append(("variable " + v["name"], m.group(1)))
problems = []
for title, e in exprs:
    q = e.replace("$__rate_interval", "1m")
    q = re.sub(r"\$\{?\w+\}?", ".*", q)
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (prom_port, urllib.parse.urlencode({"query": q}))
    try:
        r = json.load(urllib.request.urlopen(url, timeout=5))
    except urllib.error.HTTPError as err:
        r = json.load(err)
    if r.get("status") != "success":
        problems.append("%s: %s: %s" % (title, q, r.get("error")))
scraped = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", open(scrape_path).read(), re.M))
used = set()
for _, e in exprs:
    used |= set(re.findall(r"\bmqbridge_[a-z0-9_]+", e))
for p in rule_paths:
    used |= set(re.findall(r"\bmqbridge_[a-z0-9_]+", open(p).read()))
missing = sorted(n for n in used if n not in scraped)
if missing:
    problems.append("metrics used by the dashboard/rules but not exported: %s" % missing)
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("%d dashboard queries valid; %d metric names used, all exported" % (len(exprs), len(used)))
PY
mqb_log "PASS"

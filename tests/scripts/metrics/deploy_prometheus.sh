#!/usr/bin/env bash
# Offline checks of deploy/prometheus and deploy/grafana:
#   promtool check rules on every *rules*.yml, promtool test rules on the rule unit tests,
#   promtool check config on the example configs (the Kubernetes one with its service discovery
#   swapped for a static target: Debian's Prometheus is built without kubernetes_sd_configs),
#   and the Grafana dashboard's structure. Live checks are in prometheus_scrape.sh.
# usage: deploy_prometheus.sh BUILD_DIR  (the build dir is not needed)
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=tests/support/prometheus.sh
source "$root/tests/support/prometheus.sh"
trap mqb_cleanup EXIT
cd "$root/deploy/prometheus"

shopt -s nullglob
rules=(*rules*.yml)
[ ${#rules[@]} -gt 0 ] || mqb_fail "no rule files in deploy/prometheus"
promtool check rules "${rules[@]}"
tests=(tests/*.test.yml)
[ ${#tests[@]} -gt 0 ] || mqb_fail "no rule unit tests in deploy/prometheus/tests"
promtool test rules "${tests[@]}"

# every alert has a severity label and summary/description annotations
"$MQB_PY" - "${rules[@]}" <<'PY'
import re, sys
problems = []
for path in sys.argv[1:]:
    text = open(path).read()
    for block in re.split(r"\n\s*- alert: ", text)[1:]:
        name = block.split("\n", 1)[0].strip()
        for need in ("severity:", "summary:", "description:", "for:"):
            if need not in block:
                problems.append("%s: alert %s has no %s" % (path, name, need))
if problems:
    print("\n".join(problems)); sys.exit(1)
PY

promtool check config prometheus.yml
work=$(mqb_tempdir)
MQB_DIRS+=("$work")  # mqb_tempdir ran in a subshell: record the dir here for mqb_cleanup
cp ./*rules*.yml "$work/"
"$MQB_PY" - prometheus-kubernetes.yml "$work/prometheus-kubernetes.yml" <<'PY'
import re, sys
src, dst = sys.argv[1:]
text = open(src).read()
assert "kubernetes_sd_configs:" in text, "no kubernetes_sd_configs in " + src
text, n = re.subn(r"    kubernetes_sd_configs:\n(?:      .*\n|        .*\n)*",
                  '    static_configs:\n      - targets: ["127.0.0.1:9400"]\n', text)
assert n == 1, n
open(dst, "w").write(text)
PY
promtool check config "$work/prometheus-kubernetes.yml"

"$MQB_PY" - "$root/deploy/grafana/mqbridge-dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
problems = []
ids = set()
titles = []
def walk(panels):
    for p in panels:
        if p["id"] in ids:
            problems.append("duplicate panel id %s" % p["id"])
        ids.add(p["id"])
        titles.append(p["title"])
        if p["type"] != "row" and not p.get("targets"):
            problems.append("panel %r has no query" % p["title"])
        walk(p.get("panels", []))
walk(d["panels"])
exprs = " ".join(t["expr"] for p in d["panels"] for t in p.get("targets", []))
for need in ("histogram_quantile(", "mqbridge_messages_forwarded_total", "mqbridge_spool_messages",
             "mqbridge_client_connected", "mqbridge_messages_received_total"):
    if need not in exprs:
        problems.append("dashboard does not use " + need)
if d.get("uid") != "mqbridge-overview":
    problems.append("dashboard uid changed (links depend on it)")
if problems:
    print("\n".join(problems)); sys.exit(1)
print("dashboard: %d panels" % len(titles))
PY
mqb_log "PASS"

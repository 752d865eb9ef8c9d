#!/usr/bin/python3
"""The CRDs' printer columns as `kubectl get` shows them, for resources in a file (offline).

usage: printer_columns.py RESOURCES.yaml CRD.yaml...
Evaluates each column's JSONPath (the subset the CRDs use: .a.b and .a[?(@.k=="v")].b) on every
resource, prints one row per resource, and exits 1 if a column other than a date resolves to
nothing (a misspelled path shows as an empty column in a cluster, with no error anywhere).
"""
import re
import sys

import yaml

STEP = re.compile(r'\.([A-Za-z0-9_]+)|\[\?\(@\.([A-Za-z0-9_]+)=="([^"]*)"\)\]')


def resolve(obj, path):
    pos, cur = 0, obj
    for m in STEP.finditer(path):
        if m.start() != pos:
            raise SystemExit("unsupported JSONPath %s" % path)
        pos = m.end()
        if m.group(1):
            cur = cur.get(m.group(1)) if isinstance(cur, dict) else None
        else:
            cur = next((e for e in cur or [] if e.get(m.group(2)) == m.group(3)), None)
    if pos != len(path):
        raise SystemExit("unsupported JSONPath %s" % path)
    return cur


def main():
    columns = {}
    for f in sys.argv[2:]:
        for crd in yaml.safe_load_all(open(f)):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                for v in crd["spec"]["versions"]:
                    columns[crd["spec"]["names"]["kind"]] = v.get("additionalPrinterColumns", [])
    empty = 0
    for r in yaml.safe_load_all(open(sys.argv[1])):
        row = []
        for c in columns.get(r["kind"], []):
            value = resolve(r, c["jsonPath"])
            if value is None and c["type"] != "date":
                print("%s %s: column %s (%s) is empty"
                      % (r["kind"], r["metadata"]["name"], c["name"], c["jsonPath"]))
                empty += 1
            row.append("%s=%s" % (c["name"], value))
        print("%s %s: %s" % (r["kind"], r["metadata"]["name"], " ".join(row)))
    return 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())

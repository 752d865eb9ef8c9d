#!/usr/bin/python3
"""A stand-in Kubernetes API server for mqbridge's `run --kube` and `operator` tests (stdlib only).

Speaks the parts of the real protocol the bridge and the operator use, over HTTPS, for any
namespaced resource (core: /api/v1/namespaces/<ns>/<plural>, others:
/apis/<group>/<version>/namespaces/<ns>/<plural>):
  GET    <collection>[?labelSelector=k%3Dv[,k2%3Dv2]]        list, with the list's resourceVersion
  GET    <collection>?watch=1&resourceVersion=R[&timeoutSeconds=T][&labelSelector=...]
         chunked JSON lines {"type":"ADDED|MODIFIED|DELETED","object":{...}}; a resourceVersion
         older than the compaction point gets {"type":"ERROR","object":{"kind":"Status","code":410}}
  GET    <collection>/<name>                                  404 if absent
  POST   <collection>                                         201; 409 AlreadyExists; generateName
  PUT    <collection>/<name>                                  409 Conflict on a stale resourceVersion
  PATCH  <collection>/<name>  (application/merge-patch+json)  RFC 7386; 409 if the patch carries a
         stale metadata.resourceVersion
         (application/strategic-merge-patch+json)            the same, except that the lists
         named in MERGE_KEYS (a Pod's status.conditions) merge element by element on their key,
         as the API server's strategic merge does; other content types get 415
  PUT/PATCH <collection>/<name>/status                        only .status changes (the status
         subresource); writes to the main resource never change .status
  DELETE <collection>/<name>                                  then garbage collection: every object
         whose ownerReferences name a deleted uid is deleted as well (cascading, at once); an
         object created with an owner that is gone is deleted right after its creation
  POST   /api/v1/namespaces/<ns>/events                       also recorded in /stats "events"
Server-set metadata: uid, resourceVersion (one counter), generation (1, +1 when spec changes),
creationTimestamp. Every request needs "Authorization: Bearer <token>" (else 401).

Test control, plain HTTP GET on a second loopback port (answers "ok" or JSON):
  /apply?file=PATH     create or replace the object in PATH (JSON; .status kept), as kubectl does
  /patch?plural=P&name=N&file=PATH[&ns=NS][&status=1]   merge-patch as another client would
                       (a hand edit; status=1: the status, as a kubelet or controller would)
  /get?plural=P&name=N[&ns=NS]                          the object, or 404
  /list?plural=P                                        every object of that plural (JSON list)
  /delete?plural=P&name=N[&ns=NS]                       delete (+ garbage collection)
  /compact             forget history (watches from older versions get 410) and end every
                       open watch, so clients reconnect and must relist
  /stats               {"lists": {...}, "watches": n, "events": [...], "rv": n,
                        "writes": n, "writes_by": {"PATCH statefulsets": n, ...}}
  /reset-writes        set the write counters to 0

usage: fake_kube_api.py --cert C --key K --token T --ready-file F
  writes "<api port> <control port>\n" to F once both listen on 127.0.0.1.
"""

import argparse
import copy
import datetime
import json
import os
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Condition()
STATE = {
    "rv": 100,
    "compacted": 100,  # watches from a resourceVersion below this get 410 Gone
    "epoch": 0,  # bumped by /compact: open watches end
    "objects": {},  # (plural, ns, name) -> object
    "history": [],  # (rv, plural, type, object)
    "lists": {},
    "watches": 0,
    "events": [],
    "writes": 0,
    "writes_by": {},
    "uids": 0,
}
TOKEN = ""


def plural_of(kind):
    return kind.lower() + "s"


def now():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


# The lists a strategic merge patch merges by key (only those mqbridge patches: the conditions a
# bridge writes into its Pod's status, keyed by type as in the Pod's patchMergeKey).
MERGE_KEYS = {"conditions": "type"}


def merge_patch(target, patch, merge_keys=None):
    """RFC 7386 JSON merge patch; a list named in merge_keys merges element by element on its
    key instead of being replaced (strategic merge)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif merge_keys and k in merge_keys and isinstance(v, list) and isinstance(out.get(k), list):
            key = merge_keys[k]
            for item in v:
                at = [i for i, old in enumerate(out[k]) if old.get(key) == item.get(key)]
                if at:
                    out[k][at[0]] = merge_patch(out[k][at[0]], item, merge_keys)
                else:
                    out[k].append(copy.deepcopy(item))
        else:
            out[k] = merge_patch(out.get(k), v, merge_keys)
    return out


def strategic_merge_patch(target, patch):
    """The API server's strategic merge, for the lists in MERGE_KEYS."""
    return merge_patch(target, patch, MERGE_KEYS)


def parse_selector(q):
    sel = {}
    for part in q.get("labelSelector", [""])[0].split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            sel[k] = v
    return sel


def matches(obj, sel):
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    return all(labels.get(k) == v for k, v in sel.items())


def record(typ, plural, obj):
    """Bumps the resourceVersion, stores obj's version and its watch event. Under LOCK."""
    STATE["rv"] += 1
    obj["metadata"]["resourceVersion"] = str(STATE["rv"])
    STATE["history"].append((STATE["rv"], plural, typ, copy.deepcopy(obj)))
    LOCK.notify_all()


def store(plural, obj, old):
    """Creates or replaces obj (server metadata filled in). Under LOCK."""
    md = obj.setdefault("metadata", {})
    key = (plural, md["namespace"], md["name"])
    if old is None:
        STATE["uids"] += 1
        md["uid"] = "uid-%s-%s-%d" % (plural, md["name"], STATE["uids"])
        md["generation"] = 1
        md["creationTimestamp"] = now()
    else:
        for f in ("uid", "creationTimestamp"):
            md[f] = old["metadata"][f]
        md["generation"] = old["metadata"].get("generation", 1) + (
            1 if obj.get("spec") != old.get("spec") else 0)
    STATE["objects"][key] = obj
    record("MODIFIED" if old is not None else "ADDED", plural, obj)


def delete(key):
    """Deletes key, then (garbage collection) everything it owns, transitively. Under LOCK."""
    obj = STATE["objects"].pop(key, None)
    if obj is None:
        return False
    record("DELETED", key[0], obj)
    uid = obj["metadata"].get("uid")
    owned = [k for k, o in STATE["objects"].items()
             if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences", []))]
    for k in owned:
        delete(k)
    return True


def collect_orphan(key):
    """Garbage collection of an object created with an owner that is already gone (as the real
    collector does, later). Under LOCK."""
    refs = STATE["objects"][key]["metadata"].get("ownerReferences", [])
    uids = {o["metadata"].get("uid") for o in STATE["objects"].values()}
    if any(r.get("uid") not in uids for r in refs):
        delete(key)


def status_error(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": message}


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def authorized(self):
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.send_json(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
            return False
        return True

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route(self):
        """(ns, plural, name, sub, query) of the request path, or None."""
        url = urllib.parse.urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            rest = parts[3:]
        else:
            return None
        if len(rest) < 3 or rest[0] != "namespaces" or len(rest) > 5:
            return None
        name = rest[3] if len(rest) > 3 else ""
        sub = rest[4] if len(rest) > 4 else ""
        return rest[1], rest[2], name, sub, urllib.parse.parse_qs(url.query)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"{}")

    def count_write(self, plural):
        what = "%s %s" % (self.command, plural)
        STATE["writes"] += 1
        STATE["writes_by"][what] = STATE["writes_by"].get(what, 0) + 1

    def do_GET(self):
        if not self.authorized():
            return
        r = self.route()
        if r is None:
            self.send_json(404, status_error(404, "NotFound", "no such path"))
            return
        ns, plural, name, _, q = r
        if name:
            with LOCK:
                obj = STATE["objects"].get((plural, ns, name))
            if obj is None:
                self.send_json(404, status_error(404, "NotFound", "%s %s not found" % (plural, name)))
            else:
                self.send_json(200, obj)
            return
        if q.get("watch", ["0"])[0] in ("1", "true"):
            self.watch(ns, plural, q)
            return
        sel = parse_selector(q)
        with LOCK:
            STATE["lists"][plural] = STATE["lists"].get(plural, 0) + 1
            items = [o for (p, n, _), o in sorted(STATE["objects"].items())
                     if p == plural and n == ns and matches(o, sel)]
            rv = STATE["rv"]
        self.send_json(200, {"kind": "List", "metadata": {"resourceVersion": str(rv)},
                             "items": items})

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, ns, plural, q):
        since = int(q.get("resourceVersion", ["0"])[0] or "0")
        timeout = float(q.get("timeoutSeconds", ["300"])[0])
        sel = parse_selector(q)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with LOCK:
            STATE["watches"] += 1
            epoch = STATE["epoch"]
            gone = since < STATE["compacted"]
        try:
            if gone:
                self.chunk({"type": "ERROR", "object": status_error(
                    410, "Expired",
                    "too old resource version: %d (%d)" % (since, STATE["compacted"]))})
            else:
                self.stream_events(ns, plural, sel, since, epoch, timeout)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def stream_events(self, ns, plural, sel, sent, epoch, timeout):
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with LOCK:
                    pending = [h for h in STATE["history"]
                               if h[0] > sent and h[1] == plural and
                               h[3]["metadata"].get("namespace") == ns]
                    if not pending and STATE["epoch"] == epoch:
                        LOCK.wait(0.2)
                        continue
                    if STATE["epoch"] != epoch:
                        break
                for rv, _, typ, obj in pending:
                    if matches(obj, sel):
                        self.chunk({"type": typ, "object": obj})
                    sent = rv
        finally:
            timer.cancel()

    def do_POST(self):
        if not self.authorized():
            return
        r = self.route()
        if r is None or r[2]:
            self.send_json(404, status_error(404, "NotFound", "no such path"))
            return
        ns, plural = r[0], r[1]
        obj = self.body()
        with LOCK:
            self.count_write(plural)
            if plural == "events":
                STATE["events"].append(obj)
                self.send_json(201, obj)
                return
            md = obj.setdefault("metadata", {})
            md["namespace"] = ns
            if not md.get("name") and md.get("generateName"):
                STATE["uids"] += 1
                md["name"] = "%s%05d" % (md["generateName"], STATE["uids"])
            key = (plural, ns, md.get("name", ""))
            if key in STATE["objects"]:
                self.send_json(409, status_error(409, "AlreadyExists",
                                                 "%s %s already exists" % (plural, key[2])))
                return
            obj.pop("status", None)
            store(plural, obj, None)
            self.send_json(201, obj)
            collect_orphan(key)

    def object_route(self):
        """The route of an authorized request for one object, or None (the answer already sent)."""
        if not self.authorized():
            return None
        r = self.route()
        if r is None or not r[2]:
            self.send_json(404, status_error(404, "NotFound", "no such path"))
            return None
        return r

    def write_existing(self, make):
        """PUT/PATCH: make(old) -> new object, or an error tuple (code, reason, message)."""
        r = self.object_route()
        if r is None:
            return
        ns, plural, name, sub, _ = r
        change = self.body()
        with LOCK:
            self.count_write(plural + ("/" + sub if sub else ""))
            old = STATE["objects"].get((plural, ns, name))
            if old is None:
                self.send_json(404, status_error(404, "NotFound", "%s %s not found" % (plural, name)))
                return
            want_rv = (change.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                self.send_json(409, status_error(
                    409, "Conflict", "the object has been modified; please apply your changes "
                    "to the latest version and try again"))
                return
            new = make(old, change)
            if sub == "status":
                new = dict(copy.deepcopy(old), status=new.get("status"))
            else:
                new["status"] = copy.deepcopy(old.get("status"))
                if new["status"] is None:
                    new.pop("status")
            new["metadata"] = dict(new.get("metadata", {}), name=name, namespace=ns)
            store(plural, new, old)
            self.send_json(200, new)

    def do_PUT(self):
        self.write_existing(lambda old, change: copy.deepcopy(change))

    def do_PATCH(self):
        patches = {"application/merge-patch+json": merge_patch,
                   "application/strategic-merge-patch+json": strategic_merge_patch}
        how = patches.get(self.headers.get("Content-Type", ""))
        if how is None:
            self.authorized() and self.send_json(415, status_error(
                415, "UnsupportedMediaType", "merge-patch+json or strategic-merge-patch+json only"))
            return
        self.write_existing(how)

    def do_DELETE(self):
        r = self.object_route()
        if r is None:
            return
        ns, plural, name, _, _ = r
        with LOCK:
            self.count_write(plural)
            if not delete((plural, ns, name)):
                self.send_json(404, status_error(404, "NotFound", "%s %s not found" % (plural, name)))
                return
        self.send_json(200, {"kind": "Status", "status": "Success"})


def find_key(plural, name, ns):
    for (p, n, m) in STATE["objects"]:
        if p == plural and m == name and (ns is None or n == ns):
            return (p, n, m)
    return None


class Control(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        with LOCK:
            code, text = self.control(url.path, q)
        self.reply(code, text)

    def control(self, path, q):
        """Under LOCK: (HTTP status, body)."""
        if path == "/apply":
            with open(q["file"]) as f:
                obj = json.load(f)
            md = obj.setdefault("metadata", {})
            md.setdefault("namespace", "default")
            plural = plural_of(obj["kind"])
            old = STATE["objects"].get((plural, md["namespace"], md["name"]))
            if old is not None and "status" in old:
                obj["status"] = old["status"]
            md["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
            store(plural, obj, old)
        elif path == "/patch":
            key = find_key(q["plural"], q["name"], q.get("ns"))
            if key is None:
                return 404, "no such object"
            with open(q["file"]) as f:
                change = json.load(f)
            old = STATE["objects"][key]
            new = merge_patch(old, change)
            if q.get("status") != "1":
                new["status"] = copy.deepcopy(old.get("status"))
                if new["status"] is None:
                    new.pop("status")
            store(key[0], new, old)
        elif path == "/get":
            key = find_key(q["plural"], q["name"], q.get("ns"))
            return (404, "no such object") if key is None else (200, json.dumps(STATE["objects"][key]))
        elif path == "/list":
            return 200, json.dumps([o for (p, _, _), o in sorted(STATE["objects"].items())
                                    if p == q["plural"]])
        elif path == "/delete":
            key = find_key(q["plural"], q["name"], q.get("ns"))
            if key is None or not delete(key):
                return 404, "no such object"
        elif path == "/compact":
            STATE["compacted"] = STATE["rv"] + 1
            STATE["history"] = []
            STATE["epoch"] += 1
            LOCK.notify_all()
        elif path == "/stats":
            return 200, json.dumps({k: STATE[k] for k in
                                    ("lists", "watches", "events", "rv", "writes", "writes_by")})
        elif path == "/reset-writes":
            STATE["writes"] = 0
            STATE["writes_by"] = {}
        else:
            return 404, "unknown"
        return 200, "ok"


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ready-file", required=True)
    a = ap.parse_args()
    TOKEN = a.token
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    api.socket = ctx.wrap_socket(api.socket, server_side=True)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (api.server_address[1], control.server_address[1]))
    os.rename(tmp, a.ready_file)
    api.serve_forever()


if __name__ == "__main__":
    main()

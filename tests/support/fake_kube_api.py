#!/usr/bin/python3
"""A stand-in Kubernetes API server for mqbridge's `run --kube` tests (stdlib only).

Speaks the parts of the real protocol the bridge uses, over HTTPS:
  GET  /apis/<group>/<version>/namespaces/<ns>/<plural>            list (resourceVersion)
  GET  ...?watch=1&resourceVersion=R[&timeoutSeconds=T]            chunked JSON lines:
       {"type":"ADDED|MODIFIED|DELETED|BOOKMARK","object":{...}}; a resourceVersion older than
       the compaction point gets {"type":"ERROR","object":{"kind":"Status","code":410,...}}
  POST /api/v1/namespaces/<ns>/events                             recorded, 201
Every request needs "Authorization: Bearer <token>" (else 401).

Test control, plain HTTP GET on a second loopback port (answers "ok" or JSON):
  /apply?file=PATH     create or replace the object in PATH (JSON), bump resourceVersion
  /delete?plural=P&name=N
  /compact             forget history (watches from older versions get 410) and end every
                       open watch, so clients reconnect and must relist
  /stats               {"lists": {...}, "watches": n, "events": [...], "rv": n}

usage: fake_kube_api.py --cert C --key K --token T --ready-file F
  writes "<api port> <control port>\n" to F once both listen on 127.0.0.1.
"""

import argparse
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
    "objects": {},  # (plural, name) -> object
    "history": [],  # (rv, plural, type, object)
    "lists": {},
    "watches": 0,
    "events": [],
}
TOKEN = ""


def plural_of(kind):
    return kind.lower() + "s"


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

    def do_GET(self):
        if not self.authorized():
            return
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        # apis/<group>/<version>/namespaces/<ns>/<plural>
        if len(parts) != 6 or parts[0] != "apis" or parts[3] != "namespaces":
            self.send_json(404, {"kind": "Status", "code": 404})
            return
        ns, plural = parts[4], parts[5]
        if q.get("watch", ["0"])[0] in ("1", "true"):
            self.watch(ns, plural, q)
            return
        with LOCK:
            STATE["lists"][plural] = STATE["lists"].get(plural, 0) + 1
            items = [o for (p, _), o in sorted(STATE["objects"].items())
                     if p == plural and o["metadata"].get("namespace") == ns]
            rv = STATE["rv"]
        self.send_json(200, {"apiVersion": "mq.iotoperations.azure.com/v1beta1",
                             "kind": "List", "metadata": {"resourceVersion": str(rv)},
                             "items": items})

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, ns, plural, q):
        since = int(q.get("resourceVersion", ["0"])[0] or "0")
        timeout = float(q.get("timeoutSeconds", ["300"])[0])
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
                self.chunk({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": "too old resource version: %d (%d)" % (since, STATE["compacted"]),
                    "reason": "Expired", "code": 410}})
            else:
                sent = since
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
                            self.chunk({"type": typ, "object": obj})
                            sent = rv
                finally:
                    timer.cancel()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def do_POST(self):
        if not self.authorized():
            return
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path.startswith("/api/v1/namespaces/") and self.path.endswith("/events"):
            with LOCK:
                STATE["events"].append(body)
            self.send_json(201, body)
            return
        self.send_json(404, {"kind": "Status", "code": 404})


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
            if url.path == "/apply":
                with open(q["file"]) as f:
                    obj = json.load(f)
                md = obj.setdefault("metadata", {})
                md.setdefault("namespace", "default")
                key = (plural_of(obj["kind"]), md["name"])
                typ = "MODIFIED" if key in STATE["objects"] else "ADDED"
                STATE["rv"] += 1
                md["resourceVersion"] = str(STATE["rv"])
                md.setdefault("uid", "uid-%s-%s" % key)
                md["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
                STATE["objects"][key] = obj
                STATE["history"].append((STATE["rv"], key[0], typ, obj))
            elif url.path == "/delete":
                key = (q["plural"], q["name"])
                obj = STATE["objects"].pop(key, None)
                if obj is None:
                    self.reply(404, "no such object")
                    return
                STATE["rv"] += 1
                obj = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(STATE["rv"])))
                STATE["history"].append((STATE["rv"], key[0], "DELETED", obj))
            elif url.path == "/compact":
                STATE["compacted"] = STATE["rv"] + 1
                STATE["history"] = []
                STATE["epoch"] += 1
            elif url.path == "/stats":
                self.reply(200, json.dumps({k: STATE[k] for k in
                                            ("lists", "watches", "events", "rv")}))
                return
            else:
                self.reply(404, "unknown")
                return
            LOCK.notify_all()
        self.reply(200, "ok")


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

"""A scripted HTTP token endpoint (Azure Arc managed identity style) on raw sockets, so a script
can answer with any bytes: malformed HTTP, chunk sizes that overflow, a body that drips or never
ends, or nothing at all.

Contracts:
- `TokenEndpoint(script)` listens on 127.0.0.1 on a free port; `url` is what the bridge gets as
  IDENTITY_ENDPOINT. Each connection's request head (request line + headers, at most 64 KiB) is
  read, recorded in `requests` (dicts: time, line, headers with lower-case names, index) and
  handed to `script(ep, request, sock)`, which writes the answer; the connection is closed when
  the script returns. Scripts run on their own thread per connection.
- `stop()` makes `stopping` true (dripping scripts end at their next step) and closes every
  socket.
"""
import json
import select
import socket
import threading
import time


class TokenEndpoint:
    def __init__(self, script, path="/metadata/identity/oauth2/token"):
        self.script = script
        self.lock = threading.Lock()
        self.requests = []
        self.stopping = False
        self.state = {}
        self.socks = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d%s" % (self.port, path)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="token-accept")

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def first_requests(self):
        """Times of the requests without an Authorization header: one per token fetch."""
        with self.lock:
            return [r["time"] for r in self.requests if "authorization" not in r["headers"]]

    def authorizations(self):
        with self.lock:
            return [r["headers"]["authorization"] for r in self.requests
                    if "authorization" in r["headers"]]

    def _loop(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.socks.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        try:
            raw = bytearray()
            deadline = time.monotonic() + 5
            while b"\r\n\r\n" not in raw and len(raw) < 65536:
                r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
                if not r:
                    return
                data = s.recv(65536)
                if not data:
                    return
                raw += data
            head = bytes(raw).split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            with self.lock:
                req = {"time": time.monotonic(), "line": lines[0], "headers": headers,
                       "index": len(self.requests)}
                self.requests.append(req)
            self.script(self, req, s)
        except OSError:
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    def sleep(self, seconds):
        """Waits up to `seconds`, less if the endpoint is stopping; False once stopping."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return not self.stopping


def token_body(token="hostile-test-token", expires_in=3600):
    return json.dumps({"access_token": token, "expires_in": str(expires_in),
                       "token_type": "Bearer", "resource": "https://eventgrid.azure.net/"})


def response(status, reason, headers=(), body=b""):
    body = body.encode() if isinstance(body, str) else body
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        head += "Content-Length: %d\r\n" % len(body)
    head += "Connection: close\r\n\r\n"
    return head.encode() + body


def arc_challenge(realm, then=None):
    """Azure Arc: a request without Authorization gets 401 + `WWW-Authenticate: Basic
    realm=<realm>`; one with it goes to `then(ep, req, sock)` (default: 401 again, so a client
    that sent a key it should not have read gets nothing for it)."""
    def script(ep, req, sock):
        if "authorization" not in req["headers"]:
            sock.sendall(response(401, "Unauthorized",
                                  [("WWW-Authenticate", "Basic realm=%s" % realm)]))
        elif then is not None:
            then(ep, req, sock)
        else:
            sock.sendall(response(401, "Unauthorized"))
    return script


def answer_token(ep, req, sock):
    sock.sendall(response(200, "OK", [("Content-Type", "application/json")], token_body()))

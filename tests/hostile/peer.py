"""Scripted MQTT peers for the hostile suite: an MQTT 3.1.1/5 codec, a scripted broker server
(plain TCP, TLS, WebSocket per RFC 6455) and a small blocking MQTT client for the test's own
traffic on mosquitto. Python 3 stdlib only; loopback only.

Contracts:
- `PeerServer(script)` listens on 127.0.0.1 on a free port. Every accepted connection is recorded
  (`attempts`: monotonic times) and served by `script(conn)` on a thread of its own; the accept
  loop runs on its own thread. Scripts share `server.state` (a dict, guarded by `server.lock`)
  and append what they observe to `server.record(...)`.
- `Conn` hides the transport: `send()` takes MQTT bytes (framed as one binary WebSocket frame on
  a WebSocket connection), `read_packet()` returns the next whole MQTT packet or None on timeout,
  and raises `PeerClosed` when the bridge closed the connection.
- Nothing here sleeps to wait for a condition: reads are bounded by timeouts, and `wait_for()`
  polls a predicate until a deadline.
"""
import base64
import hashlib
import ipaddress
import os
import select
import socket
import ssl
import struct
import subprocess
import threading
import time

# --- MQTT packet types ----------------------------------------------------------------------------
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# --- MQTT 5 property identifiers and their wire types ---------------------------------------------
PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA = 1, 2, 3, 8, 9
SUBSCRIPTION_ID, SESSION_EXPIRY, ASSIGNED_CLIENT_ID, SERVER_KEEP_ALIVE = 0x0B, 0x11, 0x12, 0x13
AUTH_METHOD, AUTH_DATA, REASON_STRING, RECEIVE_MAXIMUM = 0x15, 0x16, 0x1F, 0x21
TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_QOS, RETAIN_AVAILABLE = 0x22, 0x23, 0x24, 0x25
USER_PROPERTY, MAXIMUM_PACKET_SIZE = 0x26, 0x27

_BYTE = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_U16 = {0x13, 0x21, 0x22, 0x23}
_U32 = {0x02, 0x11, 0x18, 0x27}
_VARINT = {0x0B}
_STR = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BIN = {0x09, 0x16}
_PAIR = {0x26}


class PeerClosed(Exception):
    """The other end closed the connection (or it broke)."""


def wait_for(pred, timeout, interval=0.02):
    """Polls `pred()` until it is truthy or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# --- encoding -------------------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def mstr(s):
    """An MQTT string or binary field: 2-byte length + bytes (str is UTF-8 encoded)."""
    b = s.encode() if isinstance(s, str) else bytes(s)
    return u16(len(b)) + b


def props(items):
    """A v5 property block from [(id, value), ...]; values as the id's wire type demands, or
    raw bytes (written as they are) to produce any byte pattern."""
    body = bytearray()
    for pid, value in items:
        body += varint(pid)
        if isinstance(value, (bytes, bytearray)) and pid not in _STR | _BIN:
            body += value
        elif pid in _BYTE:
            body.append(value)
        elif pid in _U16:
            body += u16(value)
        elif pid in _U32:
            body += u32(value)
        elif pid in _VARINT:
            body += varint(value)
        elif pid in _STR | _BIN:
            body += mstr(value)
        elif pid in _PAIR:
            body += mstr(value[0]) + mstr(value[1])
        else:
            raise ValueError("unknown property id %d" % pid)
    return varint(len(body)) + bytes(body)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | (flags & 0x0F)]) + varint(len(body)) + bytes(body)


def connack(v5, rc=0, session_present=False, properties=()):
    body = bytes([1 if session_present else 0, rc])
    if v5:
        body += props(properties)
    return packet(CONNACK, 0, body)


def publish(v5, topic, payload, qos=0, pid=0, retain=False, dup=False, properties=()):
    flags = (8 if dup else 0) | (qos << 1) | (1 if retain else 0)
    body = mstr(topic)
    if qos:
        body += u16(pid)
    if v5:
        body += props(properties)
    body += payload.encode() if isinstance(payload, str) else bytes(payload)
    return packet(PUBLISH, flags, body)


def ack(v5, ptype, pid, rc=0, properties=()):
    """PUBACK, PUBREC, PUBREL (flags 2) or PUBCOMP; v5 short form when rc is 0 and no props."""
    body = u16(pid)
    if v5 and (rc or properties):
        body += bytes([rc]) + props(properties)
    return packet(ptype, 2 if ptype == PUBREL else 0, body)


def suback(v5, pid, codes=(1,)):
    body = u16(pid) + (props(()) if v5 else b"") + bytes(codes)
    return packet(SUBACK, 0, body)


def pingresp():
    return b"\xd0\x00"


def disconnect(v5, rc=0, properties=()):
    if not v5:
        return b"\xe0\x00"
    return packet(DISCONNECT, 0, bytes([rc]) + props(properties))


def auth(rc=0x18, properties=()):
    return packet(AUTH, 0, bytes([rc]) + props(properties))


def connect(v5, client_id, keep_alive=30, clean=True, properties=()):
    body = mstr("MQTT") + bytes([5 if v5 else 4, 0x02 if clean else 0]) + u16(keep_alive)
    if v5:
        body += props(properties)
    body += mstr(client_id)
    return packet(CONNECT, 0, body)


def subscribe(v5, pid, topic_filter, qos=1):
    body = u16(pid) + (props(()) if v5 else b"") + mstr(topic_filter) + bytes([qos])
    return packet(SUBSCRIBE, 2, body)


# --- decoding -------------------------------------------------------------------------------------
class Reader:
    def __init__(self, data):
        self.d = bytes(data)
        self.i = 0

    def left(self):
        return len(self.d) - self.i

    def u8(self):
        v = self.d[self.i]
        self.i += 1
        return v

    def u16(self):
        v = struct.unpack_from(">H", self.d, self.i)[0]
        self.i += 2
        return v

    def u32(self):
        v = struct.unpack_from(">I", self.d, self.i)[0]
        self.i += 4
        return v

    def varint(self):
        n, mult = 0, 1
        while True:
            b = self.u8()
            n += (b & 0x7F) * mult
            if not b & 0x80:
                return n
            mult *= 128

    def bytes_(self, n):
        v = self.d[self.i:self.i + n]
        self.i += n
        return v

    def mstr(self):
        return self.bytes_(self.u16())

    def props(self):
        """[(id, value), ...] of a v5 property block."""
        end = self.varint() + self.i
        out = []
        while self.i < end:
            pid = self.varint()
            if pid in _BYTE:
                out.append((pid, self.u8()))
            elif pid in _U16:
                out.append((pid, self.u16()))
            elif pid in _U32:
                out.append((pid, self.u32()))
            elif pid in _VARINT:
                out.append((pid, self.varint()))
            elif pid in _STR | _BIN:
                out.append((pid, self.mstr()))
            elif pid in _PAIR:
                out.append((pid, (self.mstr(), self.mstr())))
            else:
                raise ValueError("unknown property id %d" % pid)
        return out


class Packet:
    def __init__(self, ptype, flags, body):
        self.type, self.flags, self.body = ptype, flags, body

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, "TYPE%d" % self.type)

    def __repr__(self):
        return "<%s flags=%x len=%d>" % (self.name, self.flags, len(self.body))


def parse_connect(body):
    r = Reader(body)
    proto = r.mstr()
    level = r.u8()
    flags = r.u8()
    keep_alive = r.u16()
    properties = r.props() if level == 5 else []
    client_id = r.mstr().decode(errors="replace")
    return {"protocol": proto, "v5": level == 5, "flags": flags, "keep_alive": keep_alive,
            "props": dict((k, v) for k, v in properties if k != USER_PROPERTY),
            "client_id": client_id}


def parse_publish(v5, flags, body):
    r = Reader(body)
    qos = (flags >> 1) & 3
    topic = r.mstr()
    pid = r.u16() if qos else 0
    properties = r.props() if v5 else []
    payload = r.d[r.i:]
    return {"topic": topic, "qos": qos, "pid": pid, "retain": bool(flags & 1),
            "dup": bool(flags & 8), "props": properties, "payload": payload}


def parse_subscribe(v5, body):
    r = Reader(body)
    pid = r.u16()
    if v5:
        r.props()
    filters = []
    while r.left() > 0:
        filters.append((r.mstr().decode(errors="replace"), r.u8()))
    return pid, filters


def parse_ack(v5, body):
    r = Reader(body)
    pid = r.u16()
    rc = r.u8() if v5 and r.left() > 0 else 0
    return pid, rc


def split_packet(buf):
    """(Packet, bytes consumed) of the first whole packet in `buf`, or (None, 0)."""
    if len(buf) < 2:
        return None, 0
    n, mult, i = 0, 1, 1
    while True:
        if i >= len(buf):
            return None, 0
        b = buf[i]
        n += (b & 0x7F) * mult
        i += 1
        if not b & 0x80:
            break
        mult *= 128
        if i > 4:
            raise ValueError("malformed remaining length")
    if len(buf) < i + n:
        return None, 0
    return Packet(buf[0] >> 4, buf[0] & 0x0F, bytes(buf[i:i + n])), i + n


# --- WebSocket (RFC 6455), server side ------------------------------------------------------------
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_frame(opcode, payload=b"", fin=True, rsv=0, mask=False, length=None):
    """One server frame. `length` overrides the encoded payload length (any 64-bit value, for
    frames that lie about their size); `mask` makes the server (wrongly) mask it."""
    payload = bytes(payload)
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n <= 0xFFFF:
        head += bytes([mbit | 126]) + u16(n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


def ws_ok_response(request_headers, extra=""):
    key = request_headers.get("sec-websocket-key", "")
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: mqtt\r\n%s\r\n"
            % (ws_accept(key), extra)).encode()


# --- TLS material ---------------------------------------------------------------------------------
def make_pki(directory, server_name="127.0.0.1"):
    """A CA and a server certificate signed by it (EC P-256, openssl CLI) in `directory`.
    `server_name` is an IP address or a DNS name for the certificate's SAN. Returns
    (ca.pem, server.pem, server.key)."""
    os.makedirs(directory, exist_ok=True)
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda args: subprocess.run(["openssl"] + args, check=True,  # noqa: E731
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run(["req", "-x509"] + ec + ["-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
                                 "-subj", "/CN=hostile test CA"])
    try:
        ipaddress.ip_address(server_name)
        san = "IP:" + server_name
    except ValueError:
        san = "DNS:" + server_name
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    run(["req"] + ec + ["-keyout", p("server.key"), "-out", p("server.csr"),
                        "-subj", "/CN=%s" % server_name])
    run(["x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile", p("ext.cnf")])
    return p("ca.pem"), p("server.pem"), p("server.key")


def server_tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# --- the scripted server --------------------------------------------------------------------------
class Conn:
    """One accepted connection as a script sees it."""

    def __init__(self, server, sock, index, websocket):
        self.server, self.sock, self.index, self.ws = server, sock, index, websocket
        self.inbuf = bytearray()   # MQTT bytes not yet returned as packets
        self.wsbuf = bytearray()   # raw WebSocket bytes not yet parsed into frames
        self.v5 = True
        self.connect_info = None
        self.closed = False
        self.opened = time.monotonic()
        self.ws_events = []        # (opcode, payload) of control frames from the bridge

    # raw I/O
    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise PeerClosed(str(e))

    def send(self, data):
        """MQTT bytes (one binary frame on WebSocket)."""
        self.send_raw(ws_frame(2, data) if self.ws else data)

    def recv_raw(self, timeout, size=65536):
        """Up to `size` bytes, b'' on timeout; raises PeerClosed at EOF or on an error."""
        try:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not r:
                return b""
            data = self.sock.recv(size)
        except (OSError, ValueError) as e:
            raise PeerClosed(str(e))
        if not data:
            raise PeerClosed("eof")
        return data

    def _parse_ws(self):
        while True:
            b = self.wsbuf
            if len(b) < 2:
                return
            opcode, masked, n = b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
            i = 2
            if n == 126:
                if len(b) < 4:
                    return
                n, i = struct.unpack_from(">H", b, 2)[0], 4
            elif n == 127:
                if len(b) < 10:
                    return
                n, i = struct.unpack_from(">Q", b, 2)[0], 10
            key = b[i:i + 4] if masked else b"\0\0\0\0"
            i += 4 if masked else 0
            if len(b) < i + n:
                return
            payload = bytes(x ^ key[j % 4] for j, x in enumerate(b[i:i + n])) if masked \
                else bytes(b[i:i + n])
            del b[:i + n]
            if opcode in (0, 1, 2):
                self.inbuf += payload
            else:
                self.ws_events.append((opcode, payload))
                if opcode == 8:
                    raise PeerClosed("websocket close")

    def fill(self, timeout, size=65536):
        """Reads once (at most `size` bytes, bounded by `timeout`); returns how many it read."""
        data = self.recv_raw(timeout, size)
        if self.ws:
            self.wsbuf += data
            self._parse_ws()
        else:
            self.inbuf += data
        return len(data)

    def next_buffered(self):
        """The next whole MQTT packet already read, or None."""
        p, used = split_packet(self.inbuf)
        if p is None:
            return None
        del self.inbuf[:used]
        self.server.record(self, "in", p)
        return p

    def read_packet(self, timeout=5.0):
        """The next whole MQTT packet, or None when none arrived within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            p = self.next_buffered()
            if p is not None:
                return p
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.fill(left)

    def expect_connect(self, timeout=5.0):
        p = self.read_packet(timeout)
        if p is None or p.type != CONNECT:
            raise PeerClosed("no CONNECT (%r)" % p)
        self.connect_info = parse_connect(p.body)
        self.v5 = self.connect_info["v5"]
        return self.connect_info

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


class PeerServer:
    """A scripted broker. `script(conn)` runs once per accepted connection (after the TLS
    handshake and the WebSocket upgrade when configured); when it returns, the connection is
    closed. `ws_upgrade(conn, request_line, headers)` may replace the upgrade answer: it must
    send whatever it wants and return True to go on with MQTT, False to close."""

    def __init__(self, script, tls_context=None, websocket=False, ws_upgrade=None,
                 rcvbuf=None, name="peer"):
        self.script, self.tls_context, self.websocket = script, tls_context, websocket
        self.ws_upgrade = ws_upgrade
        self.name = name
        self.lock = threading.Lock()
        self.state = {}
        self.attempts = []        # monotonic time of every accepted connection
        self.events = []          # (time, conn index, direction, what)
        self.conns = []
        self.errors = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="%s-accept" % name)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.close()

    def record(self, conn, direction, what):
        with self.lock:
            self.events.append((time.monotonic(), conn.index if conn else -1, direction, what))

    def packets(self, direction="in", ptype=None):
        """[(time, conn index, Packet)] recorded so far."""
        with self.lock:
            return [(t, i, p) for t, i, d, p in self.events
                    if d == direction and isinstance(p, Packet) and
                    (ptype is None or p.type == ptype)]

    def _accept_loop(self):
        while not self._stop:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.attempts.append(time.monotonic())
                index = len(self.attempts) - 1
            threading.Thread(target=self._serve, args=(s, index), daemon=True,
                             name="%s-%d" % (self.name, index)).start()

    def _serve(self, s, index):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = None
        try:
            if self.tls_context is not None:
                s.settimeout(5)
                try:
                    s = self.tls_context.wrap_socket(s, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    self.record(None, "tls", "handshake failed: %s" % e)
                    s.close()
                    return
                s.settimeout(None)
            conn = Conn(self, s, index, self.websocket)
            with self.lock:
                self.conns.append(conn)
            if self.websocket and not self._upgrade(conn):
                return
            self.script(conn)
        except PeerClosed:
            pass
        except Exception as e:  # a script bug: keep it for the report
            with self.lock:
                self.errors.append("%s: %r" % (type(e).__name__, e))
        finally:
            if conn is not None:
                conn.close()
            else:
                s.close()

    def _upgrade(self, conn):
        raw = bytearray()
        while b"\r\n\r\n" not in raw:
            raw += conn.recv_raw(5.0)
            if len(raw) > 65536:
                return False
        head, rest = bytes(raw).split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        conn.wsbuf += rest
        self.record(conn, "http", lines[0])
        if self.ws_upgrade is not None:
            return self.ws_upgrade(conn, lines[0], headers)
        conn.send_raw(ws_ok_response(headers))
        return True


# --- building blocks for scripts ------------------------------------------------------------------
def serve_normally(conn, until=None, on_publish=None, receive_maximum=None, ack=True,
                   connack_props=(), idle_timeout=30.0):
    """A well-behaved broker loop after CONNECT: CONNACK (unless already sent: pass
    `connack_props=None`), SUBACK, PINGRESP, PUBACK/PUBREC/PUBCOMP. `on_publish(conn, info)` may
    answer a PUBLISH itself by returning True. Returns when `until()` is true or on close."""
    if connack_props is not None:
        cp = list(connack_props)
        if receive_maximum:
            cp.append((RECEIVE_MAXIMUM, receive_maximum))
        conn.send(connack(conn.v5, 0, False, cp))
    last = time.monotonic()
    while until is None or not until():
        p = conn.read_packet(0.1)
        if p is None:
            if time.monotonic() - last > idle_timeout:
                return
            continue
        last = time.monotonic()
        handle_default(conn, p, on_publish, ack)


def handle_default(conn, p, on_publish=None, ack_publishes=True):
    v5 = conn.v5
    if p.type == SUBSCRIBE:
        pid, filters = parse_subscribe(v5, p.body)
        conn.server.record(conn, "subscribe", filters)
        conn.send(suback(v5, pid, [min(q & 3, 2) for _, q in filters]))
    elif p.type == PINGREQ:
        conn.send(pingresp())
    elif p.type == PUBLISH:
        info = parse_publish(v5, p.flags, p.body)
        conn.server.record(conn, "publish", info)
        if on_publish is not None and on_publish(conn, info):
            return
        if ack_publishes and info["qos"] == 1:
            conn.send(ack(v5, PUBACK, info["pid"]))
        elif ack_publishes and info["qos"] == 2:
            conn.send(ack(v5, PUBREC, info["pid"]))
    elif p.type == PUBREL:
        pid, _ = parse_ack(v5, p.body)
        conn.send(ack(v5, PUBCOMP, pid))
    elif p.type == DISCONNECT:
        raise PeerClosed("client disconnect")


def wait_subscribe(conn, timeout=5.0):
    """Answers packets normally until a SUBSCRIBE arrived (and was SUBACKed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = conn.read_packet(max(0.0, deadline - time.monotonic()))
        if p is None:
            break
        handle_default(conn, p)
        if p.type == SUBSCRIBE:
            return True
    raise PeerClosed("no SUBSCRIBE")


# --- a small blocking MQTT client for the test's own traffic on mosquitto -------------------------
class Client:
    """Connects to a broker on 127.0.0.1, subscribes and/or publishes; a reader thread collects
    PUBLISHes (`received`: list of dicts) and PUBACKs. For the test's own traffic only."""

    def __init__(self, port, client_id, v5=True):
        self.v5 = v5
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.received = []
        self.acked = set()
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.next_id = 1
        self.closed = False
        self._buf = bytearray()
        self.sock.sendall(connect(v5, client_id, keep_alive=60))
        p = self._read_one(5.0)
        if p is None or p.type != CONNACK or p.body[1] != 0:
            raise RuntimeError("connect to %d refused: %r" % (port, p))
        self.sock.settimeout(None)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _read_one(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            p, used = split_packet(self._buf)
            if p is not None:
                del self._buf[:used]
                return p
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                data = self.sock.recv(65536)
                if not data:
                    raise PeerClosed("eof")
                self._buf += data

    def _loop(self):
        try:
            while not self.closed:
                p = self._read_one(0.5)
                if p is None:
                    continue
                if p.type == PUBLISH:
                    info = parse_publish(self.v5, p.flags, p.body)
                    with self.lock:
                        self.received.append(info)
                    if info["qos"] == 1:
                        self._send(ack(self.v5, PUBACK, info["pid"]))
                elif p.type in (PUBACK, SUBACK):
                    with self.lock:
                        self.acked.add(Reader(p.body).u16())
        except (OSError, PeerClosed, ValueError):
            self.closed = True

    def _send(self, data):
        with self.send_lock:
            self.sock.sendall(data)

    def _id(self):
        with self.lock:
            i = self.next_id
            self.next_id = i % 65535 + 1
            return i

    def subscribe(self, topic_filter, qos=1, timeout=5.0):
        pid = self._id()
        self._send(subscribe(self.v5, pid, topic_filter, qos))
        if not wait_for(lambda: pid in self.acked, timeout):
            raise RuntimeError("no SUBACK for %s" % topic_filter)

    def publish(self, topic, payload, qos=1, retain=False):
        pid = self._id() if qos else 0
        self._send(publish(self.v5, topic, payload, qos, pid, retain))
        return pid

    def payloads(self, prefix=b""):
        with self.lock:
            return [m["payload"] for m in self.received if m["topic"].startswith(prefix)]

    def close(self):
        self.closed = True
        try:
            self._send(disconnect(self.v5))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

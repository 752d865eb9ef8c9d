"""The hostile-peer case table. Each case: one peer (MQTT source broker, MQTT target broker,
WebSocket server, TLS server or token endpoint) misbehaving in exactly one way, and what the
bridge must do about it. run.py adds the checks every case shares (alive, healthy route, memory,
CPU, cause in the log, backoff, SIGTERM); a case adds its own in `checks` (while the bridge
runs) and `after_stop`.

The peer is always the hostile connector's remote broker. `direction` says its role:
remote-to-local = it is the source (the bridge subscribes `hostile/#` there and forwards to L),
local-to-remote = it is the target (the test publishes on L, the bridge forwards to it).
"""
import json
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import peer as P
import token_endpoint as T

SOURCE = "remote-to-local"
TARGET = "local-to-remote"
PROTOCOL_ERRORS = ["malformed_packet", "protocol_error"]


@dataclass
class Case:
    name: str
    hostile: str                      # which side misbehaves, for the report
    what: str                         # the misbehaviour, one line
    direction: str = SOURCE
    protocol: str = "v5"
    transport: str = "tcp"            # tcp | ws | tls | wss
    tls_name: str = "127.0.0.1"       # the peer certificate's SAN (tls/wss)
    plain_peer: bool = False          # tls/wss on the bridge's side only: the peer speaks plain
    script: Optional[Callable] = None         # peer script (conn) -> None
    ws_upgrade: Optional[Callable] = None     # replaces the WebSocket upgrade answer
    token: Optional[Callable] = None          # token endpoint script: managed identity
    peer_rcvbuf: Optional[int] = None
    connector_extra: str = ""         # YAML lines appended to the hostile connector's spec
    route_extra: str = ""             # YAML lines appended to the hostile route
    l_broker_extra: tuple = ()        # mosquitto.conf lines for L
    reasons: List[str] = field(default_factory=list)   # accepted `reason`s, [] = no cause needed
    deadletter: Optional[str] = None  # a deadletter_stored reason that must be logged
    min_attempts: int = 0             # >0: at least this many attempts, spaced like a backoff
    attempts_from: str = "peer"       # peer (TCP accepts) | token (token fetches)
    mem_mib: int = 96
    cpu_limit: Optional[int] = 25     # % of one core over the run phase; None = not checked
    min_run: float = 1.0              # the run phase lasts at least this long
    run_timeout: float = 5.0          # ... and at most this long
    setup: Optional[Callable] = None  # (ctx) peer and token endpoint exist, bridge not yet
    run: Optional[Callable] = None    # (ctx) at the start of the run phase; must not block long
    done: Optional[Callable] = None   # (ctx) -> bool: the run phase may end
    during: Optional[Callable] = None  # (ctx) at the end of the run phase
    checks: List[Callable] = field(default_factory=list)
    after_stop: List[Callable] = field(default_factory=list)


# --- peer script building blocks ------------------------------------------------------------------
def bump(conn, key, n=1):
    with conn.server.lock:
        conn.server.state[key] = conn.server.state.get(key, 0) + n
        return conn.server.state[key]


def source_script(misbehave, connack_props=(), good=True):
    """A source broker: CONNACK, SUBACK, one good QoS 1 message `good-<connection>`, then
    `misbehave(conn)`, then a normal broker until the bridge closes."""
    def script(conn):
        conn.expect_connect()
        conn.send(P.connack(conn.v5, 0, False, connack_props))
        P.wait_subscribe(conn)
        if good:
            conn.send(P.publish(conn.v5, "hostile/good", "good-%d" % conn.index, 1, 1))
            wait_puback(conn, 1)
        misbehave(conn)
        P.serve_normally(conn, connack_props=None, idle_timeout=60)
    return script


def wait_puback(conn, pid, timeout=3.0):
    """Serves normally until the bridge PUBACKed `pid` (so what follows cannot take the message
    down with it); False if it did not within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = conn.read_packet(max(0.0, deadline - time.monotonic()))
        if p is None:
            return False
        if p.type == P.PUBACK and P.parse_ack(conn.v5, p.body)[0] == pid:
            return True
        P.handle_default(conn, p)
    return False


def session_script(messages, connack_props=()):
    """A source broker with a session: on the first connection it publishes `messages`
    ((topic, payload, qos, properties) each, QoS 1 ones with packet ids 1, 2, ...); QoS 1
    messages not PUBACKed yet are sent again with DUP on every later connection, like a broker
    keeping the persistent session. `state['sends']` counts sends per payload."""
    def script(conn):
        srv = conn.server
        conn.expect_connect()
        with srv.lock:
            first = not srv.state.get("started")
            srv.state["started"] = True
            pending = srv.state.setdefault("pending", {})
            sends = srv.state.setdefault("sends", {})
            if first:
                for i, (topic, payload, qos, props) in enumerate(messages):
                    pending[i + 1] = (topic, payload, qos, props, False)
            todo = sorted(pending.items())
        conn.send(P.connack(conn.v5, 0, not first, connack_props))
        P.wait_subscribe(conn)
        for pid, (topic, payload, qos, props, _) in todo:
            conn.send(P.publish(conn.v5, topic, payload, qos, pid if qos else 0,
                                dup=not first and qos > 0, properties=props))
            with srv.lock:
                sends[payload] = sends.get(payload, 0) + 1
                if qos == 0:
                    pending.pop(pid, None)
        while True:
            p = conn.read_packet(0.2)
            if p is None:
                continue
            if p.type == P.PUBACK:
                pid, rc = P.parse_ack(conn.v5, p.body)
                with srv.lock:
                    srv.state.setdefault("pubacks", []).append((pid, rc))
                    pending.pop(pid, None)
            else:
                P.handle_default(conn, p)
    return script


def target_script(on_publish=None, connack_props=(), receive_maximum=None):
    """A target broker: CONNACK (with `connack_props`), then a normal broker; `on_publish(conn,
    info)` may take over the answer to a PUBLISH by returning True."""
    def script(conn):
        conn.expect_connect()
        P.serve_normally(conn, on_publish=on_publish, receive_maximum=receive_maximum,
                         connack_props=connack_props, idle_timeout=60)
    return script


def hold(conn, seconds=30):
    """Keeps the connection open without reading until the bridge or the server closes it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not conn.closed and not conn.server._stop:
        time.sleep(0.05)


# --- run hooks and checks -------------------------------------------------------------------------
def publish_on_l(payloads, topic="hostile/t", retain=False, spacing=0.05, qos=1):
    """Run hook: publishes `payloads` on L from a thread (the run phase is not blocked)."""
    def run(ctx):
        def go():
            for p in payloads:
                ctx.lpub.publish(topic, p, qos, retain)
                time.sleep(spacing)  # pacing of the test's own traffic, not a wait
        threading.Thread(target=go, daemon=True).start()
    return run


def peer_payloads(ctx, qos=None):
    return [w["payload"] for _, w in ctx.peer_publishes() if qos is None or w["qos"] == qos]


def peer_got(payloads):
    want = [p.encode() if isinstance(p, str) else p for p in payloads]

    def done(ctx):
        got = set(peer_payloads(ctx))
        return all(p in got for p in want)

    def check_peer_got(ctx):
        got = set(peer_payloads(ctx))
        missing = [p for p in want if p not in got]
        if missing:
            ctx.fail("target peer never got %d of %d messages (first: %r)" % (
                len(missing), len(want), missing[0][:40]))
    return done, check_peer_got


def l_got(payloads):
    want = [p.encode() if isinstance(p, str) else p for p in payloads]

    def done(ctx):
        got = set(ctx.lsub.payloads())
        return all(p in got for p in want)

    def check_l_got(ctx):
        got = set(ctx.lsub.payloads())
        missing = [p for p in want if p not in got]
        if missing:
            ctx.fail("L never got %d of %d source messages (first: %r)" % (
                len(missing), len(want), missing[0][:40]))
    return done, check_l_got


def good_forwarded(ctx):
    """Source cases: a good message of the first connection reached L."""
    return b"good-0" in ctx.lsub.payloads()


def check_good_forwarded(ctx):
    if not good_forwarded(ctx):
        ctx.fail("the good message before the misbehaviour never reached L")


def l_never_got_payload(prefix):
    def check_l_never_got(ctx):
        with ctx.lsub.lock:
            bad = [m["topic"] for m in ctx.lsub.received if m["payload"].startswith(prefix)]
        if bad:
            ctx.fail("L got the bad message (topic %r)" % bad[0])
    return check_l_never_got


def check_l_publisher_kept(ctx):
    """The bridge's publisher on L never lost its connection (a bad message forwarded to L makes
    mosquitto drop it, again and again)."""
    lost = ctx.metric("mqbridge_client_connect_failures_total", connector="hostile",
                      side="local", reason="lost")
    if lost:
        ctx.fail("the hostile route's publisher on L lost its connection %d times" % lost)


def check_sent_at_most(payload, n):
    def check_not_redelivered(ctx):
        sends = ctx.peer.state.get("sends", {}).get(payload, 0)
        if sends > n:
            ctx.fail("the peer had to send %r %d times (not acknowledged: redelivery loop)" % (
                payload, sends))
    return check_not_redelivered


def check_hostile_log_lines(limit, what=None):
    """At most `limit` log lines about the hostile connector (with `what` in the event name)."""
    def check_log_quiet(ctx):
        lines = [e for e in ctx.hostile_log()
                 if what is None or what in str(e.get("event", ""))]
        if len(lines) > limit:
            ctx.fail("%d log lines%s about the hostile connector (limit %d)" % (
                len(lines), " on %s" % what if what else "", limit))
    return check_log_quiet


def check_single_connection(ctx):
    if len(ctx.peer.attempts) != 1:
        ctx.fail("%d connections to the peer, wanted 1 (the bridge dropped it)" %
                 len(ctx.peer.attempts))


def check_no_loss_event(ctx):
    lost = [e for e in ctx.hostile_log() if e.get("event") == "mqtt_connection_lost"]
    if lost:
        ctx.fail("connection dropped: %s" % lost[0].get("reason"))


def check_detail_has(text, event=None):
    def check_detail(ctx):
        for e in ctx.hostile_log():
            if event and e.get("event") != event:
                continue
            if text in json.dumps(e):
                return
        ctx.fail("no log line about the hostile connector carries %r" % text)
    return check_detail


def check_metric_at_least(name, n, **labels):
    def check_metric(ctx):
        v = ctx.metric(name, connector="hostile", **labels)
        if v < n:
            ctx.fail("%s%s = %g, wanted >= %d" % (name, labels or "", v, n))
    return check_metric


def deadletter_listed(reason, count=1):
    """After the stop: `mqbridge deadletter list --json` holds >= `count` entries with
    `reason`."""
    def check_deadletter_list(ctx):
        cmd = [ctx.bridge.bin, "deadletter", "list", "--state-dir", ctx.bridge.state, "--json"]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            ctx.fail("deadletter list: %s" % e)
            return
        if r.returncode != 0:
            err = (r.stderr.decode(errors="replace").strip().splitlines() or [""])[0]
            ctx.fail("deadletter list exited %d: %s" % (r.returncode, err[:120]))
            return
        entries = []
        for line in r.stdout.decode(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                ctx.fail("deadletter list printed a line that is not JSON: %r" % line[:80])
                return
        n = sum(1 for e in entries if e.get("reason") == reason)
        if n < count:
            ctx.fail("deadletter list has %d entries with reason %s, wanted >= %d" % (
                n, reason, count))
    return check_deadletter_list


# --- source broker cases --------------------------------------------------------------------------
def bad_topic_case(name, bad_topics, what):
    good = ["before", "after-1", "after-2"]
    msgs = [("hostile/ok", good[0], 1, ())]
    msgs += [(t, "BAD-%d" % i, 1, ()) for i, t in enumerate(bad_topics)]
    msgs += [("hostile/ok", g, 1, ()) for g in good[1:]]
    done, check = l_got(good)
    return Case(
        name, "source broker", what, script=session_script(msgs),
        deadletter="invalid_topic", done=done,
        checks=[check, check_l_publisher_kept] +
               [check_sent_at_most("BAD-%d" % i, 2) for i in range(len(bad_topics))] +
               [l_never_got_payload(b"BAD")],
        after_stop=[deadletter_listed("invalid_topic", len(bad_topics))])


def misbehave_send(data):
    return lambda conn: conn.send(data)


def protocol_case(name, what, data, reasons=PROTOCOL_ERRORS, protocol="v5", **kw):
    """The peer sends `data` after a good message on every connection: the bridge must drop the
    connection naming the cause, forward the good message, and back off."""
    kw.setdefault("checks", [])
    kw["checks"] = [check_good_forwarded] + kw["checks"]
    return Case(name, "source broker", what, protocol=protocol,
                script=source_script(misbehave_send(data) if isinstance(data, bytes) else data),
                reasons=reasons, min_attempts=3, **kw)


def receive_maximum_flood(conn):
    rm = conn.connect_info["props"].get(P.RECEIVE_MAXIMUM)
    with conn.server.lock:
        conn.server.state["rm"] = rm
    n = (rm or 65535) + 5
    if n > 5000:
        return  # no usable Receive Maximum announced: check_receive_maximum reports it
    conn.send(b"".join(P.publish(True, "hostile/flood", "rm-%d" % i, 1, 100 + i)
                       for i in range(n)))


def check_receive_maximum(ctx):
    rm = ctx.peer.state.get("rm")
    if rm is None:
        ctx.fail("the bridge announced no Receive Maximum in CONNECT (spool maxMessages set)")


def auth_flood(conn):
    conn.send(P.auth(0x18, [(P.AUTH_METHOD, "HOSTILE")]) * 20000)


def pubrel_unknown(conn):
    conn.send(P.ack(True, P.PUBREL, 777))


def check_pubcomp_777(ctx):
    comps = [p for _, _, p in ctx.peer.packets("in", P.PUBCOMP)
             if P.parse_ack(True, p.body)[0] == 777]
    if not comps:
        ctx.fail("no PUBCOMP for the unknown PUBREL 777")


def pingresp_flood(conn):
    conn.send(P.pingresp() * 50000)
    conn.send(P.publish(conn.v5, "hostile/good", "after-pingresp-flood", 1, 9))


def second_connack(conn):
    conn.send(P.connack(True, 0))


def disconnect_with_string(conn):
    conn.send(P.disconnect(True, 0x89, [(P.REASON_STRING, "hostile-peer-going-away-7431")]))
    hold(conn, 5)


def qos2_dup_script(conn):
    conn.expect_connect()
    conn.send(P.connack(conn.v5, 0, False))
    P.wait_subscribe(conn)
    if conn.index == 0:
        conn.send(P.publish(True, "hostile/q2", "q2-once", 2, 5))
        conn.read_packet(2.0)  # PUBREC
        conn.send(P.publish(True, "hostile/q2", "q2-once", 2, 5, dup=True))
        conn.read_packet(2.0)  # PUBREC again
        conn.send(P.ack(True, P.PUBREL, 5))
        conn.send(P.publish(True, "hostile/ok", "after-q2", 1, 6))
    P.serve_normally(conn, connack_props=None, idle_timeout=60)


def check_q2_once(ctx):
    n = ctx.lsub.payloads().count(b"q2-once")
    if n != 1:
        ctx.fail("the QoS 2 message re-sent with DUP reached L %d times, wanted 1" % n)


def huge_publish_script(conn):
    """One PUBLISH announcing 220 MiB, streamed at about 50 MiB/s, then a good message."""
    conn.expect_connect()
    conn.send(P.connack(conn.v5, 0, False))
    P.wait_subscribe(conn)
    if conn.index != 0:
        P.serve_normally(conn, connack_props=None, idle_timeout=60)
        return
    total = 220 * 1024 * 1024
    topic = P.mstr("hostile/huge")
    head_body = topic + P.u16(4242) + (P.props(()) if conn.v5 else b"")
    payload_len = total - len(head_body)
    conn.send(bytes([0x32]) + P.varint(total) + head_body)
    chunk = b"\0" * (1024 * 1024)
    sent, t0 = 0, time.monotonic()
    while sent < payload_len and not conn.server._stop:
        n = min(len(chunk), payload_len - sent)
        conn.send(chunk[:n])
        sent += n
        ahead = sent / (50 * 1024 * 1024) - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)  # pacing: "streamed slowly"
        # answer what the bridge sends meanwhile (PINGREQ, PUBACK)
        while select.select([conn.sock], [], [], 0)[0]:
            conn.fill(0)
        while True:
            p = conn.next_buffered()
            if p is None:
                break
            record_puback(conn, p)
            P.handle_default(conn, p)
    with conn.server.lock:
        conn.server.state["huge_sent"] = True
    conn.send(P.publish(conn.v5, "hostile/ok", "after-huge", 1, 4243))
    while True:
        p = conn.read_packet(0.2)
        if p is not None:
            record_puback(conn, p)
            P.handle_default(conn, p)


def record_puback(conn, p):
    if p.type == P.PUBACK:
        pid, rc = P.parse_ack(conn.v5, p.body)
        with conn.server.lock:
            conn.server.state.setdefault("pubacks", []).append((pid, rc))


def check_huge_acked(ctx):
    acks = [pid for pid, _ in ctx.peer.state.get("pubacks", [])]
    if 4242 not in acks:
        ctx.fail("the oversized PUBLISH (id 4242) was never acknowledged")


# --- CONNACK cases --------------------------------------------------------------------------------
def connack_bytes(data, then="close"):
    def script(conn):
        conn.expect_connect()
        conn.send(data)
        if then == "hold":
            hold(conn, 30)
        elif then == "serve":
            P.serve_normally(conn, connack_props=None, idle_timeout=60)
    return script


def keep_alive_script(conn):
    """CONNACK with Server Keep Alive 2; like a broker, closes after 1.5 x 2 s of silence."""
    conn.expect_connect()
    conn.send(P.connack(True, 0, False, [(P.SERVER_KEEP_ALIVE, 2)]))
    with conn.server.lock:
        conn.server.state.setdefault("connack_at", {})[conn.index] = time.monotonic()
    last = time.monotonic()
    while time.monotonic() - last < 3.0:
        p = conn.read_packet(0.1)
        if p is not None:
            last = time.monotonic()
            P.handle_default(conn, p)


def pingreqs(ctx):
    """{connection index: [PINGREQ times]}."""
    out = {}
    for t, i, _ in ctx.peer.packets("in", P.PINGREQ):
        out.setdefault(i, []).append(t)
    return out


def keep_alive_done(ctx):
    return any(len(v) >= 2 for v in pingreqs(ctx).values())


def check_keep_alive_interval(ctx):
    starts = ctx.peer.state.get("connack_at", {})
    for i, times in pingreqs(ctx).items():
        seq = [starts.get(i, times[0])] + times
        gaps = [b - a for a, b in zip(seq, seq[1:])]
        if len(times) >= 2 and max(gaps) <= 2.5:
            return
    ctx.fail("no connection with 2 PINGREQs at most 2.5 s apart after Server Keep Alive 2 "
             "(PINGREQs per connection: %s)" % {i: len(v) for i, v in pingreqs(ctx).items()})


def refuse_qos(conn, info):
    if info["qos"] > 0:
        conn.send(P.disconnect(True, 0x9B))  # QoS not supported
        conn.close()
        return True
    return False


def refuse_retain(conn, info):
    if info["retain"]:
        conn.send(P.disconnect(True, 0x9A))  # Retain not supported
        conn.close()
        return True
    return False


def refuse_oversized(conn, info):
    """For a CONNACK with Maximum Packet Size 200: a larger PUBLISH is a protocol error."""
    if len(info["topic"]) + len(info["payload"]) > 150:
        bump(conn, "oversized")
        conn.send(P.disconnect(True, 0x95))  # Packet too large
        conn.close()
        raise P.PeerClosed("packet too large")
    return False


def no_pingresp_script(conn):
    """Reads and acknowledges everything but never answers PINGREQ."""
    conn.expect_connect()
    conn.send(P.connack(True, 0, False))
    while True:
        p = conn.read_packet(0.2)
        if p is not None and p.type != P.PINGREQ:
            P.handle_default(conn, p)


def check_peer_qos0(ctx):
    bad = [w for _, w in ctx.peer_publishes() if w["qos"] != 0]
    if bad:
        ctx.fail("%d PUBLISHes above the CONNACK's Maximum QoS 0" % len(bad))


def check_peer_no_retain(ctx):
    bad = [w for _, w in ctx.peer_publishes() if w["retain"]]
    if bad:
        ctx.fail("%d retained PUBLISHes despite Retain Available 0" % len(bad))


# --- target broker cases --------------------------------------------------------------------------
def refuse_poison(conn, info):
    if b"POISON-87" in info["payload"]:
        conn.send(P.ack(True, P.PUBACK, info["pid"], 0x87))
        return True
    if b"POISON-90" in info["payload"]:
        conn.send(P.ack(True, P.PUBACK, info["pid"], 0x90))
        return True
    return False


def close_on_poison(conn, info):
    if b"POISON" in info["payload"]:
        bump(conn, "poison_closes")
        conn.close()
        raise P.PeerClosed("closed on POISON")
    return False


def suback_for_publish(conn, info):
    """Answers the first STICKY PUBLISH with a SUBACK carrying its packet id, then PUBACKs it."""
    if b"STICKY" in info["payload"] and not conn.server.state.get("sticky_done"):
        conn.server.state["sticky_done"] = True
        conn.send(P.suback(True, info["pid"], [1]) + P.ack(True, P.PUBACK, info["pid"]))
        return True
    return False


def puback_flood_script(conn):
    """On the first connection only (a bridge that drops it must get its messages through on
    the next): 50,000 PUBACKs for ids the bridge never used."""
    conn.expect_connect()
    conn.send(P.connack(True, 0, False))
    if conn.index == 0:
        conn.send(b"".join(P.ack(True, P.PUBACK, 20000 + (i % 40000)) for i in range(50000)))
    P.serve_normally(conn, connack_props=None, idle_timeout=60)


def slow_reader_script(conn):
    """Reads 4 KiB every 100 ms (40 KiB/s), acknowledges each PUBLISH and answers each PINGREQ
    as soon as it has read it."""
    conn.expect_connect()
    conn.send(P.connack(True, 0, False))
    while True:
        t = time.monotonic()
        conn.fill(0.1, 4096)
        while True:
            p = conn.next_buffered()
            if p is None:
                break
            P.handle_default(conn, p)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))  # the slowness being scripted


def never_read_script(conn):
    conn.expect_connect()
    conn.send(P.connack(True, 0, False))
    hold(conn, 60)


def check_peer_inflight_cleared(ctx):
    fwd = ctx.metric("mqbridge_messages_forwarded_total", connector="hostile")
    inflight = ctx.metric("mqbridge_messages_inflight", connector="hostile")
    if fwd < 4 or inflight > 0:
        ctx.fail("forwarded %g of 4, %g still in flight (a message is stuck)" % (fwd, inflight))


# --- WebSocket cases ------------------------------------------------------------------------------
def ws_case(name, what, frame, reasons=("websocket_protocol_error",), **kw):
    kw.setdefault("checks", [])
    kw["checks"] = [check_good_forwarded] + kw["checks"]
    return Case(name, "websocket server", what, transport="ws",
                script=source_script(lambda conn: conn.send_raw(frame)),
                reasons=list(reasons), min_attempts=3, **kw)


def ws_answer(data_fn):
    def upgrade(conn, request_line, headers):
        data = data_fn(headers)
        conn.send_raw(data)
        return False
    return upgrade


def ws_endless_headers(conn, request_line, headers):
    conn.send_raw(b"HTTP/1.1 101 Switching Protocols\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    for _ in range(1024):  # up to 1 MiB of headers, never the blank line
        if conn.closed or conn.server._stop:
            break
        conn.send_raw(line)
    hold(conn, 15)
    return False


def ws_ping_flood(conn):
    """Never reads again; sends 100 MiB of 125-byte pings."""
    block = P.ws_frame(9, b"p" * 125) * 8192
    for _ in range(100 * 1024 * 1024 // len(block)):
        if conn.server._stop:
            break
        conn.send_raw(block)
    with conn.server.lock:
        conn.server.state["flood_done"] = True
    hold(conn, 30)


def ws_tiny_fragments_script(conn):
    """Valid but unusual: every MQTT packet in 1-byte frames, a ping between fragments."""
    def send_fragmented(data):
        out = bytearray()
        for i, b in enumerate(data):
            op = 2 if i == 0 else 0
            out += P.ws_frame(op, bytes([b]), fin=i == len(data) - 1)
            if i == 1:
                out += P.ws_frame(9, b"mid")
        conn.send_raw(bytes(out))
    conn.expect_connect()
    send_fragmented(P.connack(True, 0, False))
    P.wait_subscribe(conn)
    for i in range(3):
        send_fragmented(P.publish(True, "hostile/frag", "frag-%d" % i, 1, 10 + i))
    P.serve_normally(conn, connack_props=None, idle_timeout=60)


# --- TLS cases ------------------------------------------------------------------------------------
def plaintext_answer(conn):
    conn.recv_raw(5.0)  # the ClientHello
    conn.send_raw(b"\x20\x02\x00\x00HTTP/1.1 400 Bad Request\r\n\r\n")


# --- token endpoint cases -------------------------------------------------------------------------
SECRET = "HOSTILE-SECRET-MARKER-93217"


def write_file(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def realm_case(name, what, where):
    """`where(ctx)` -> the realm path (it writes the file holding SECRET)."""
    def token(ep, req, sock):
        return T.arc_challenge(ep.state["realm"])(ep, req, sock)

    def setup(ctx):
        ctx.scratch["realm"] = ctx.token.state["realm"] = where(ctx)

    def check_secret_not_sent(ctx):
        sent = [a for a in ctx.token.authorizations() if SECRET in a]
        if sent:
            ctx.fail("the bridge sent the content of %s to the token endpoint" %
                     ctx.scratch["realm"])
        if SECRET.encode() in ctx.bridge.raw_log():
            ctx.fail("the bridge logged the content of %s" % ctx.scratch["realm"])
    return Case(name, "token endpoint", what, token=token, setup=setup,
                reasons=["token_fetch_failed", "credentials_unreadable"], min_attempts=3,
                attempts_from="token", checks=[check_secret_not_sent])


def good_token(ep, req, sock):
    realm = ep.state.get("realm", "/nonexistent.key")
    T.arc_challenge(realm, then=T.answer_token)(ep, req, sock)


def token_baseline_setup(ctx):
    realm = os.path.join(ctx.arc_dir, "good.key")
    write_file(realm, "good-key-content\n")
    ctx.token.state["realm"] = realm


def check_token_used(ctx):
    auths = ctx.token.authorizations()
    if "Basic good-key-content" not in auths:
        ctx.fail("the key file content was not sent as Basic credentials (got %s)" % auths[:2])


def chunked_huge(ep, req, sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"ffffffffffffffff\r\n")
    block = (b"ffffffffffffffff\r\n" + b"{" * 46) * 1024
    for _ in range(4 * 1024 * 1024 // len(block)):
        if ep.stopping:
            return
        sock.sendall(block)


def chunked_wraparound(ep, req, sock):
    """Chunk sizes of 2^64 - 2: a parser that adds size + 4 to its offset in 64 bits lands on
    the next size line again; 1 MiB of them."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    sock.sendall(b"fffffffffffffffe\r\n" * (1024 * 1024 // 18))


def drip(ep, req, sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100000\r\nConnection: close\r\n\r\n{")
    while ep.sleep(1.0):
        sock.sendall(b" ")


def never_answer(ep, req, sock):
    ep.sleep(60)


def endless_body(ep, req, sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                 b"{\"access_token\": \"")
    chunk = b"a" * 65536
    for _ in range(512):  # 32 MiB at 4 MiB/s, unless the bridge hangs up
        sock.sendall(chunk)
        if not ep.sleep(1 / 64):
            return


def token_with_peer(token, **kw):
    """A token endpoint case whose MQTT side is a well-behaved source broker."""
    return dict(token=token, attempts_from="token",
                script=source_script(lambda conn: None), **kw)


# --- the table ------------------------------------------------------------------------------------
def _cases():
    c = []
    # Baselines: no misbehaviour; they prove the harness (and the bridge) work as expected.
    done_b, check_b = l_got(["b-0", "b-1", "b-2"])
    c.append(Case("baseline_source", "none", "well-behaved source broker",
                  script=session_script([("hostile/b", "b-%d" % i, 1, ()) for i in range(3)]),
                  done=done_b, checks=[check_b, check_single_connection]))
    done_t, check_t = peer_got(["t-%d" % i for i in range(5)])
    c.append(Case("baseline_target", "none", "well-behaved target broker",
                  direction=TARGET, script=target_script(),
                  run=publish_on_l(["t-%d" % i for i in range(5)]), done=done_t,
                  checks=[check_t, check_single_connection]))

    # Source broker: bad topics (dead-lettered, not forwarded, not redelivered in a loop).
    c.append(bad_topic_case("src_topic_invalid_utf8", [b"hostile/\xff\xfe"],
                            "PUBLISH topic that is not UTF-8"))
    c.append(bad_topic_case("src_topic_wildcards", ["hostile/+/x", "hostile/#"],
                            "PUBLISH topics with + and #"))
    c.append(bad_topic_case("src_topic_nul", [b"hostile/a\x00b"], "PUBLISH topic with U+0000"))
    done_pf, check_pf = l_got(["before", "after-1"])
    c.append(Case("src_payload_format_invalid", "source broker",
                  "payload format indicator 1 (UTF-8) with a payload that is not UTF-8",
                  script=session_script([("hostile/ok", "before", 1, ()),
                                         ("hostile/pf", b"PF-\xff\xfe", 1,
                                          [(P.PAYLOAD_FORMAT, 1)]),
                                         ("hostile/ok", "after-1", 1, ())]),
                  deadletter="invalid_properties", done=done_pf,
                  checks=[check_pf, check_l_publisher_kept, l_never_got_payload(b"PF-"),
                          check_sent_at_most(b"PF-\xff\xfe", 2)],
                  after_stop=[deadletter_listed("invalid_properties")]))

    # Source broker: packets the bridge must refuse (drop the connection, name it, back off).
    c.append(protocol_case("src_qos3", "PUBLISH with QoS 3",
                           P.packet(P.PUBLISH, 0x06, P.mstr("hostile/q3") + P.u16(3) +
                                    P.props(()) + b"x")))
    c.append(protocol_case("src_packet_id_0", "QoS 1 PUBLISH with packet id 0",
                           P.publish(True, "hostile/id0", "id0", 1, 0)))
    c.append(protocol_case("src_topic_alias_not_allowed",
                           "PUBLISH with a Topic Alias the client never allowed",
                           P.publish(True, "hostile/alias", "alias", 1, 3,
                                     properties=[(P.TOPIC_ALIAS, 1)]),
                           reasons=["protocol_error"]))
    c.append(protocol_case("src_receive_maximum_exceeded",
                           "more unacknowledged QoS 1 PUBLISHes than the client's Receive Maximum",
                           receive_maximum_flood, reasons=["protocol_error"],
                           route_extra="      spool:\n        maxMessages: 40\n",
                           checks=[check_receive_maximum]))
    # Well-framed PUBLISHes whose properties MQTT forbids: set aside like a bad topic (a
    # disconnect would have the broker send them again on every reconnect).
    for name, what, props in [
            ("src_duplicate_property", "PUBLISH with two Message Expiry Intervals",
             [(P.MESSAGE_EXPIRY, 60), (P.MESSAGE_EXPIRY, 120)]),
            ("src_property_not_for_publish", "PUBLISH carrying a Session Expiry Interval",
             [(P.SESSION_EXPIRY, 10)])]:
        done_p, check_p = l_got(["before", "after-1"])
        c.append(Case(name, "source broker", what,
                      script=session_script([("hostile/ok", "before", 1, ()),
                                             ("hostile/bad", b"BADPROP", 1, props),
                                             ("hostile/ok", "after-1", 1, ())]),
                      deadletter="invalid_properties", done=done_p,
                      checks=[check_p, check_l_publisher_kept, l_never_got_payload(b"BADPROP"),
                              check_sent_at_most(b"BADPROP", 2)],
                      after_stop=[deadletter_listed("invalid_properties")]))
    c.append(protocol_case("src_remaining_length_5_bytes", "remaining length of 5 bytes",
                           b"\x30\xff\xff\xff\xff\x01", reasons=["malformed_packet"]))
    c.append(protocol_case("src_packet_type_0", "packet type 0", b"\x00\x00"))
    c.append(protocol_case("src_packet_type_15_v3", "packet type 15 (AUTH) on MQTT 3.1.1",
                           b"\xf0\x00", protocol="v3"))
    c.append(protocol_case("src_second_connack", "a second CONNACK on an open connection",
                           second_connack))
    c.append(protocol_case("src_auth_flood", "20,000 unsolicited AUTH packets", auth_flood,
                           reasons=["protocol_error"],
                           checks=[check_hostile_log_lines(5, "auth"),
                                   check_hostile_log_lines(40)]))
    c.append(protocol_case("src_disconnect_reason_string",
                           "DISCONNECT 0x89 with a reason string", disconnect_with_string,
                           reasons=["server_disconnect"],
                           checks=[check_detail_has("hostile-peer-going-away-7431",
                                                    "mqtt_connection_lost")]))
    done_q2, check_q2 = l_got(["q2-once", "after-q2"])
    c.append(Case("src_qos2_dup_resend", "source broker",
                  "QoS 2 PUBLISH re-sent with DUP before PUBREL (must be delivered once)",
                  script=qos2_dup_script, done=done_q2, min_run=2.0,
                  checks=[check_q2, check_q2_once]))
    c.append(Case("src_pubrel_unknown_id", "source broker", "PUBREL for a packet id never used",
                  script=source_script(pubrel_unknown),
                  done=lambda ctx: good_forwarded(ctx) and bool(
                      ctx.peer.packets("in", P.PUBCOMP)),
                  checks=[check_good_forwarded, check_pubcomp_777, check_single_connection]))
    done_pr, check_pr = l_got(["good-0", "after-pingresp-flood"])
    c.append(Case("src_pingresp_flood", "source broker", "50,000 unsolicited PINGRESPs",
                  script=source_script(pingresp_flood), done=done_pr,
                  checks=[check_pr, check_hostile_log_lines(10)]))
    done_h, check_h = l_got(["after-huge"])
    c.append(Case("src_remaining_length_220mib", "source broker",
                  "one PUBLISH of 220 MiB (over the 16 MiB Maximum Packet Size) streamed at "
                  "50 MiB/s",
                  script=huge_publish_script, done=done_h, run_timeout=10, cpu_limit=None,
                  l_broker_extra=("max_packet_size 1048576",),
                  checks=[check_h, check_huge_acked,
                          check_metric_at_least("mqbridge_messages_dropped_total", 1,
                                                reason="too_large")]))

    # CONNACK misbehaviours.
    c.append(Case("connack_partial_then_close", "source broker",
                  "2 of the CONNACK's 3 body bytes, then close",
                  script=connack_bytes(b"\x20\x03\x00\x00"),
                  reasons=["connection_closed_before_connack", "malformed_connack",
                           "malformed_packet"], min_attempts=3, run_timeout=6))
    c.append(Case("connack_never", "source broker", "CONNECT never answered",
                  script=connack_bytes(b"", then="hold"), reasons=["connack_timeout"],
                  min_run=0, run_timeout=12))
    c.append(Case("connack_garbage", "source broker", "an HTTP error page instead of CONNACK",
                  script=connack_bytes(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
                  reasons=["malformed_connack", "malformed_packet", "protocol_error",
                           "connection_closed_before_connack"],
                  min_attempts=3, run_timeout=6))
    c.append(Case("connack_reserved_flags", "source broker", "CONNACK with reserved flag bits",
                  script=connack_bytes(b"\x20\x03\x02\x00\x00", then="hold"),
                  reasons=["malformed_connack", "malformed_packet", "protocol_error"],
                  min_attempts=3))
    c.append(Case("connack_receive_maximum_0", "source broker", "CONNACK with Receive Maximum 0",
                  script=connack_bytes(P.connack(True, 0, False, [(P.RECEIVE_MAXIMUM, 0)]),
                                       then="hold"),
                  reasons=["malformed_connack", "malformed_packet", "protocol_error"],
                  min_attempts=3))
    c.append(Case("connack_duplicate_property", "source broker",
                  "CONNACK with Receive Maximum twice",
                  script=connack_bytes(P.connack(True, 0, False, [(P.RECEIVE_MAXIMUM, 10),
                                                                  (P.RECEIVE_MAXIMUM, 20)]),
                                       then="serve"),
                  reasons=["malformed_connack", "malformed_packet", "protocol_error"],
                  min_attempts=3))
    c.append(Case("connack_refused_v5", "source broker",
                  "CONNACK 0x88 server unavailable with a reason string",
                  script=connack_bytes(P.connack(True, 0x88, False,
                                                 [(P.REASON_STRING, "hostile-maintenance-5")])),
                  reasons=["server_unavailable"], min_attempts=3,
                  checks=[check_detail_has("hostile-maintenance-5", "mqtt_connect_failed")]))
    c.append(Case("connack_refused_v3", "source broker", "v3 CONNACK return code 5",
                  protocol="v3", script=connack_bytes(b"\x20\x02\x00\x05"),
                  reasons=["not_authorized"], min_attempts=3))
    c.append(Case("connack_server_keep_alive", "target broker",
                  "CONNACK Server Keep Alive 2 s (connector keepAliveSeconds 60)",
                  direction=TARGET, script=keep_alive_script, done=keep_alive_done,
                  run_timeout=7, checks=[check_keep_alive_interval]))
    qos_msgs = ["q0-%d" % i for i in range(5)]
    done_q0, check_q0 = peer_got(qos_msgs)
    c.append(Case("connack_maximum_qos_0", "target broker",
                  "CONNACK Maximum QoS 0 (disconnects on a QoS 1 PUBLISH)",
                  direction=TARGET,
                  script=target_script(refuse_qos, [(P.MAXIMUM_QOS, 0)]),
                  run=publish_on_l(qos_msgs), done=done_q0,
                  checks=[check_q0, check_peer_qos0,
                          check_metric_at_least("mqbridge_messages_adjusted_total", 5,
                                                adjustment="qos_downgraded")]))
    ret_msgs = ["r-%d" % i for i in range(5)]
    done_r, check_r = peer_got(ret_msgs)
    c.append(Case("connack_retain_unavailable", "target broker",
                  "CONNACK Retain Available 0 (disconnects on a retained PUBLISH)",
                  direction=TARGET,
                  script=target_script(refuse_retain, [(P.RETAIN_AVAILABLE, 0)]),
                  run=publish_on_l(ret_msgs, retain=True), done=done_r,
                  checks=[check_r, check_peer_no_retain,
                          check_metric_at_least("mqbridge_messages_adjusted_total", 5,
                                                adjustment="retain_stripped")]))

    mps_msgs = ["p0", "BIG-" + "x" * 1000, "p1", "p2"]
    done_mps, check_mps = peer_got(["p0", "p1", "p2"])
    c.append(Case("connack_maximum_packet_size", "target broker",
                  "CONNACK Maximum Packet Size 200 (disconnects on a larger PUBLISH)",
                  direction=TARGET,
                  script=target_script(refuse_oversized, [(P.MAXIMUM_PACKET_SIZE, 200)]),
                  run=publish_on_l(mps_msgs), done=done_mps, deadletter="too_large",
                  checks=[check_mps, check_single_connection],
                  after_stop=[deadletter_listed("too_large")]))

    # Target broker misbehaviours.
    refuse_msgs = ["m0", "POISON-87", "m1", "POISON-90", "m2"]
    done_rf, check_rf = peer_got(["m0", "m1", "m2"])
    c.append(Case("tgt_refuse_poison", "target broker",
                  "PUBACK 0x87 / 0x90 for the PUBLISHes containing POISON",
                  direction=TARGET, script=target_script(refuse_poison),
                  run=publish_on_l(refuse_msgs), done=done_rf, deadletter="refused",
                  checks=[check_rf], after_stop=[deadletter_listed("refused", 2)]))
    close_msgs = ["c0", "POISON", "c1", "c2", "c3"]
    done_cl, check_cl = peer_got(["c0", "c1", "c2", "c3"])
    c.append(Case("tgt_close_on_poison", "target broker",
                  "closes the connection whenever it receives the PUBLISH containing POISON",
                  direction=TARGET, script=target_script(close_on_poison),
                  run=publish_on_l(close_msgs), done=done_cl,
                  deadletter="repeated_disconnects", reasons=["connection_closed"],
                  min_attempts=3, run_timeout=10, checks=[check_cl],
                  after_stop=[deadletter_listed("repeated_disconnects")]))
    sticky_msgs = ["s0", "STICKY", "s1", "s2"]
    done_st, check_st = peer_got(sticky_msgs)
    c.append(Case("tgt_suback_for_inflight_publish", "target broker",
                  "SUBACK carrying the packet id of an in-flight PUBLISH (then its PUBACK)",
                  direction=TARGET, script=target_script(suback_for_publish),
                  run=publish_on_l(sticky_msgs),
                  done=lambda ctx: done_st(ctx) and ctx.metric(
                      "mqbridge_messages_inflight", connector="hostile") == 0,
                  checks=[check_st, check_peer_inflight_cleared]))
    flood_msgs = ["f%d" % i for i in range(10)]
    done_pf2, check_pf2 = peer_got(flood_msgs)
    c.append(Case("tgt_puback_unknown_flood", "target broker",
                  "50,000 PUBACKs for packet ids never used",
                  direction=TARGET, script=puback_flood_script,
                  run=publish_on_l(flood_msgs), done=done_pf2,
                  checks=[check_pf2, check_hostile_log_lines(10)]))
    slow_msgs = ["%02d:" % i + "s" * 8189 for i in range(30)]
    done_sl, check_sl = peer_got(slow_msgs)
    c.append(Case("tgt_slow_reader", "target broker",
                  "reads 40 KiB/s but acknowledges everything; keepAliveSeconds 1",
                  direction=TARGET, script=slow_reader_script, peer_rcvbuf=4096,
                  connector_extra="  keepAliveSeconds: 1\n",
                  run=publish_on_l(slow_msgs, spacing=0.0), done=done_sl, run_timeout=12,
                  checks=[check_sl, check_no_loss_event, check_single_connection]))
    c.append(Case("tgt_no_pingresp", "target broker",
                  "never answers PINGREQ (keepAliveSeconds 1)",
                  direction=TARGET, script=no_pingresp_script,
                  connector_extra="  keepAliveSeconds: 1\n",
                  reasons=["keep_alive_timeout"], min_attempts=3, run_timeout=9))
    big = ["%03d:" % i + "n" * 65530 for i in range(100)]
    c.append(Case("tgt_never_reads", "target broker",
                  "CONNACKs, then never reads (6.4 MiB published towards it)",
                  direction=TARGET, script=never_read_script, peer_rcvbuf=4096,
                  run=publish_on_l(big, spacing=0.01), min_run=4, run_timeout=5))

    # WebSocket server misbehaviours (the peer is the source broker behind ws://).
    c.append(Case("ws_baseline", "none", "well-behaved MQTT over WebSocket",
                  transport="ws", script=source_script(lambda conn: None),
                  done=good_forwarded, checks=[check_good_forwarded, check_single_connection]))
    done_fr, check_fr = l_got(["frag-0", "frag-1", "frag-2"])
    c.append(Case("ws_tiny_fragments", "websocket server",
                  "valid: every MQTT packet in 1-byte continuation frames, a ping in between",
                  transport="ws", script=ws_tiny_fragments_script, done=done_fr,
                  checks=[check_fr, check_single_connection]))
    c.append(ws_case("ws_masked_frame", "a masked frame from the server",
                     P.ws_frame(2, P.pingresp(), mask=True)))
    c.append(ws_case("ws_text_frame", "a text frame", P.ws_frame(1, b"hello")))
    c.append(ws_case("ws_fragmented_ping", "a ping frame without FIN",
                     P.ws_frame(9, b"x", fin=False)))
    c.append(ws_case("ws_control_126_bytes", "a 126-byte ping", P.ws_frame(9, b"x" * 126)))
    c.append(ws_case("ws_rsv_bits", "a frame with RSV1 set", P.ws_frame(2, P.pingresp(), rsv=4)))
    c.append(ws_case("ws_length_top_bit", "a 64-bit frame length with the top bit set",
                     P.ws_frame(2, b"", length=(1 << 63) | 2) + P.pingresp()))
    c.append(ws_case("ws_close_with_reason", "a close frame 1001 with a reason",
                     P.ws_frame(8, P.u16(1001) + b"hostile-ws-going-away-5512"),
                     reasons=("connection_closed", "server_disconnect"),
                     checks=[check_detail_has("hostile-ws-going-away-5512",
                                              "mqtt_connection_lost")]))
    c.append(Case("ws_ping_flood_never_reads", "websocket server",
                  "100 MiB of pings while never reading the pongs",
                  transport="ws", script=source_script(ws_ping_flood), cpu_limit=None,
                  done=lambda ctx: ctx.peer.state.get("flood_done"), run_timeout=10))
    c.append(Case("ws_wrong_accept", "websocket server", "101 with a wrong Sec-WebSocket-Accept",
                  transport="ws",
                  ws_upgrade=ws_answer(lambda h: P.ws_ok_response(
                      {"sec-websocket-key": "d3JvbmcgY2xpZW50IGtleQ=="})),
                  reasons=["websocket_upgrade_failed"], min_attempts=3))
    c.append(Case("ws_200_instead_of_101", "websocket server", "200 OK instead of 101",
                  transport="ws",
                  ws_upgrade=ws_answer(lambda h: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                  reasons=["websocket_upgrade_failed"], min_attempts=3))
    c.append(Case("ws_endless_headers", "websocket server",
                  "101 followed by response headers that never end (1 MiB)",
                  transport="ws", ws_upgrade=ws_endless_headers,
                  reasons=["websocket_upgrade_failed"], min_attempts=3))

    # TLS server misbehaviours.
    c.append(Case("tls_baseline", "none", "well-behaved MQTT over TLS", transport="tls",
                  script=source_script(lambda conn: None), done=good_forwarded,
                  checks=[check_good_forwarded, check_single_connection]))
    c.append(Case("tls_plaintext_answer", "tls server",
                  "answers the ClientHello in plaintext (no TLS at all)", transport="tls",
                  plain_peer=True, script=plaintext_answer, reasons=["tls_handshake_failed"], min_attempts=3))
    c.append(Case("tls_wrong_name", "tls server",
                  "certificate from the trusted CA for another name", transport="tls",
                  tls_name="wrong.example.invalid", reasons=["tls_handshake_failed"],
                  min_attempts=3))

    # Token endpoint (systemAssignedManagedIdentity, Azure Arc challenge).
    c.append(Case("token_baseline", "none", "well-behaved Arc token endpoint",
                  setup=token_baseline_setup, done=good_forwarded,
                  checks=[check_good_forwarded, check_token_used],
                  **token_with_peer(good_token)))
    c.append(realm_case("token_realm_outside_key_dir",
                        "realm names a .key file outside the Arc key directory",
                        lambda ctx: _secret(os.path.join(ctx.dir, "outside", "stolen.key"))))
    c.append(realm_case("token_realm_not_key_file",
                        "realm names a file in the key directory not ending in .key",
                        lambda ctx: _secret(os.path.join(ctx.arc_dir, "secret.txt"))))
    c.append(realm_case("token_realm_dotdot",
                        "realm climbs out of the key directory with ..",
                        lambda ctx: _secret(os.path.join(ctx.dir, "outside", "up.key"),
                                            os.path.join(ctx.arc_dir, "..", "outside",
                                                         "up.key"))))
    c.append(realm_case("token_realm_key_too_large",
                        "realm names a .key file of 5,000 bytes in the key directory",
                        lambda ctx: _secret(os.path.join(ctx.arc_dir, "big.key"),
                                            filler=5000)))
    c.append(Case("token_chunked_huge", "token endpoint",
                  "chunked 200 with chunk size ffffffffffffffff and 4 MiB of body",
                  reasons=["token_fetch_failed"], min_attempts=3,
                  **token_with_peer(chunked_huge)))
    c.append(Case("token_chunked_wraparound", "token endpoint",
                  "chunked 200 with 1 MiB of chunk-size lines fffffffffffffffe",
                  reasons=["token_fetch_failed"], min_attempts=3,
                  **token_with_peer(chunked_wraparound)))
    c.append(Case("token_drip_deadline", "token endpoint",
                  "200 with a body dripping one byte per second",
                  reasons=["token_fetch_failed"], min_run=0, run_timeout=11,
                  **token_with_peer(drip)))
    c.append(Case("token_drip_sigterm", "token endpoint",
                  "SIGTERM while the body drips one byte per second",
                  min_run=2.5, run_timeout=2.5, **token_with_peer(drip)))
    c.append(Case("token_never_answers", "token endpoint",
                  "accepts the request and never answers",
                  reasons=["token_fetch_failed"], min_run=0, run_timeout=12,
                  **token_with_peer(never_answer)))
    c.append(Case("token_endless_body", "token endpoint",
                  "200 whose body never ends (4 MiB/s)",
                  reasons=["token_fetch_failed"], min_run=0, run_timeout=12,
                  **token_with_peer(endless_body)))
    return c


def _secret(path, realm=None, filler=0):
    write_file(path, SECRET + ("x" * filler) + "\n")
    return realm or path


CASES = _cases()

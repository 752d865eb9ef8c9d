"""Backlog (mode B only): a backlog spooled by mqbridge while the remote is down, drained when
it returns, into mosquitto (what a real broker accepts) and into bench/ackserver (a remote
that only acknowledges: what mqbridge itself drains).

Needs the route's durable spool: without it mqbridge cannot hold the backlog through an outage
and the case would only measure losses.
"""

import os
import subprocess
import time

from . import loadgen, procs
from .measure import cpu_s, loadavg

# The remote keeps the subscriber's persistent session across its restart.
PERSISTENT = "persistence true\npersistence_location {work}/\nautosave_interval 0\n"

# How long the subscriber waits for a message, the first one included: longer than mqbridge's
# longest reconnect delay (30 s) plus a connection attempt, so that after a long outage the
# subscriber is still there when the bridge comes back.
SUB_IDLE_S = 45


def has_spool(lab):
    crds = subprocess.run([lab.mqbridge, "crds"], capture_output=True, text=True).stdout
    return "spool" in crds.lower()


def backlog(lab, count):
    """Both drains of a backlog of `count` 64-byte QoS 1 messages; None without the spool.
    The record report() reads: count, received, drain_s (remote's return to last arrival),
    rate, flow (first to last arrival), dup, remote_cpu_s, and the ack_* figures."""
    if not has_spool(lab):
        print("  backlog: needs the spool (this build's configuration has no spool field)")
        return None
    out = into_mosquitto(lab, count)
    out.update(into_ackserver(lab, count))
    return out


def publish(lab, lport, argv_tail):
    """A loadgen publisher on the local broker that ends when all is acknowledged."""
    return subprocess.run([lab.loadgen, "--role", "pub", "--pub-uri", f"tcp://127.0.0.1:{lport}",
                           "--idle", "0"] + argv_tail,
                          capture_output=True, text=True, timeout=900)


def into_mosquitto(lab, count):
    """1. the subscriber's persistent session exists on the remote; 2. the remote goes down;
    3. the publisher fills the spool through the local broker; 4. the remote returns and the
    bridge drains into the session, which the subscriber reads."""
    lport, rport = procs.free_port(), procs.free_port()
    extra = PERSISTENT.format(work=lab.work)
    local = procs.broker(lab, "local", lport, 100)
    remote = procs.broker(lab, "remote", rport, 100, extra=extra)
    bridge = procs.mqbridge(lab, lport, rport, 1, spool=True)
    seq = lab.next_seq()
    prog = os.path.join(lab.work, f"progress{seq}")
    common = ["--qos", "1", "--size", "64", "--count", str(count), "--window", "100",
              "--progress-file", prog, "--id", f"bl{seq}", "--topic", "bench/t",
              "--sub-topic", "bench/#", "--timeout", "900", "--idle", str(SUB_IDLE_S),
              "--session-expiry", "3600"]
    sub_argv = [lab.loadgen, "--role", "sub", "--sub-uri", f"tcp://127.0.0.1:{rport}"] + common
    try:
        sub = loadgen.start_subscriber(sub_argv)
        sub.kill()
        sub.wait()
        remote.stop()
        t0 = time.time()
        pub = publish(lab, lport, [x for x in common if x not in ("--progress-file", prog)])
        spooled_s = time.time() - t0
        la = loadavg()
        back_ns = time.monotonic_ns()
        remote = procs.broker(lab, "remote", rport, 100, extra=extra)
        sub = subprocess.Popen(sub_argv, stdout=subprocess.PIPE, text=True)
        text, _ = sub.communicate(timeout=900)
        rcpu = cpu_s(remote.pid)  # the restarted remote's whole life: the drain
    finally:
        procs.stop_all(bridge, local, remote)
    res = loadgen.result_fields(text)
    got = float(res.get("received", 0))
    last = int(res.get("last_recv_ns", 0))
    drain = (last - back_ns) / 1e9 if last > back_ns else float("nan")
    rate = got / drain if drain > 0 else 0
    flow = float(res.get("recv_rate", 0))
    print(f"  backlog: {count} published in {spooled_s:.1f} s during the outage "
          f"(load {la:.1f}); after the remote returned {got:.0f} received, "
          f"dup {res.get('dup')}, drain {drain:.1f} s = {rate:,.0f} msg/s incl. the "
          f"bridge's reconnect, {flow:,.0f} msg/s first to last arrival "
          f"(load {loadavg():.1f}); remote mosquitto CPU {rcpu:.1f} s "
          f"({100 * rcpu / drain if drain > 0 else 0:.0f} % of one core over the drain); "
          f"pub: {pub.stdout.strip()}", flush=True)
    return {"count": count, "received": got, "drain_s": drain, "rate": rate,
            "flow": flow, "dup": res.get("dup"), "remote_cpu_s": rcpu}


def into_ackserver(lab, count):
    """The same backlog drained into bench/ackserver with Receive Maximum 100, like the brokers
    here. The ackserver is up once so that the bridge becomes ready, then down while the
    publisher fills the spool, then up until it has acknowledged `count`."""
    lport, rport = procs.free_port(), procs.free_port()
    local = procs.broker(lab, "local", lport, 100)
    first = subprocess.Popen([lab.ackserver, "--port", str(rport)], stdout=subprocess.PIPE,
                             text=True)
    first.stdout.readline()
    try:
        bridge = procs.mqbridge(lab, lport, rport, 1, spool=True)
    finally:
        first.terminate()
        first.communicate(timeout=30)
    try:
        pub = publish(lab, lport, ["--qos", "1", "--size", "64", "--count", str(count),
                                   "--window", "100", "--id", f"ba{lab.seq}",
                                   "--topic", "bench/t", "--timeout", "900"])
        c0 = cpu_s(bridge.pid)
        back_ns = time.monotonic_ns()
        ack = subprocess.run([lab.ackserver, "--port", str(rport), "--receive-maximum", "100",
                              "--count", str(count)], capture_output=True, text=True,
                             timeout=900)
        c1 = cpu_s(bridge.pid)
    finally:
        bridge.stop()
        local.stop()
    res = loadgen.result_fields(ack.stdout)
    got = float(res.get("received", 0))
    last = int(res.get("last_ns", 0))
    drain = (last - back_ns) / 1e9 if last > back_ns else float("nan")
    flow = float(res.get("rate", 0))
    cpu = (c1 - c0) / max(1.0, got) * 1e5
    print(f"  backlog into bench/ackserver: {got:.0f}/{count} acknowledged, "
          f"{drain:.2f} s from its start = {got / drain if drain > 0 else 0:,.0f} msg/s "
          f"incl. the bridge's reconnect, {flow:,.0f} msg/s first to last PUBLISH, "
          f"mqbridge CPU {cpu:.2f} s/100k; pub: {pub.stdout.strip()}", flush=True)
    return {"ack_received": got, "ack_drain_s": drain, "ack_flow": flow, "ack_cpu": cpu}

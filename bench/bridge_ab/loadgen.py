"""Runs of build/bench/loadgen, and the forwarding path each mode is measured on.

loadgen runs as two processes with their own Paho threads: the subscriber on the remote broker
(it prints `ready` once subscribed, and at the end a `result k=v ...` line with received, lost,
dup, reordered, rate, recv_rate, tail_rate, p50_us, p99_us, last_recv_ns, ...), and the
publisher on the local broker (its own `result` line). They share a progress file, through which
a QoS 0 publisher keeps at most `window` messages ahead of the subscriber's count.
"""

import os
import subprocess
import time

from . import procs


def result_fields(text):
    """The k=v fields of the last `result` line in text, as strings."""
    res = {}
    for line in text.splitlines():
        if line.startswith("result"):
            res = dict(kv.split("=", 1) for kv in line.split()[1:])
    return res


def numbers(fields):
    """fields with the values that parse as numbers turned into floats."""
    out = {}
    for k, v in fields.items():
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def start_subscriber(argv):
    """Starts a loadgen subscriber and waits until it has subscribed."""
    sub = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    if sub.stdout.readline().strip() != "ready":
        sub.kill()
        raise RuntimeError("loadgen subscriber did not start")
    return sub


def run(lab, lport, rport, qos, size, count, window=100, rate=0, timeout=120, idle=5,
        direct=False):
    """One loadgen run: subscriber on the remote broker (rport), publisher on the local one
    (lport; the remote too when `direct`, the path without a bridge). rate 0 publishes as fast
    as the window allows; otherwise at `rate` msg/s. The subscriber gives up `idle` s after the
    last arrival. Returns the subscriber's result fields, completed by the publisher's, as
    numbers where they are."""
    seq = lab.next_seq()
    prog = os.path.join(lab.work, f"progress{seq}")
    common = ["--qos", str(qos), "--size", str(size), "--count", str(count),
              "--window", str(window), "--rate", str(rate), "--timeout", str(timeout),
              "--idle", str(idle), "--progress-file", prog, "--id", f"lg{seq}",
              "--topic", "bench/t", "--sub-topic", "bench/#"]
    sub = start_subscriber([lab.loadgen, "--role", "sub", "--sub-uri",
                            f"tcp://127.0.0.1:{rport}"] + common)
    pub_port = rport if direct else lport
    pub = subprocess.run([lab.loadgen, "--role", "pub", "--pub-uri",
                          f"tcp://127.0.0.1:{pub_port}"] + common,
                         capture_output=True, text=True, timeout=timeout + 30)
    out, _ = sub.communicate(timeout=timeout + 30)
    res = result_fields(out)
    for k, v in result_fields(pub.stdout).items():
        res.setdefault(k, v)
    os.unlink(prog)
    return numbers(res)


def setup(lab, mode, inflight, qos, shared=0, rate=0):
    """Mode A's or B's path between two fresh brokers, warmed up until 200 QoS 1 messages get
    through without loss (A's native bridge connects asynchronously), at most 20 s.
    Returns (local, remote, bridge process or None for A, lport, rport)."""
    lport, rport = procs.free_port(), procs.free_port()
    remote = procs.broker(lab, "remote", rport, inflight)
    if mode == "A":
        local = procs.broker(lab, "local", lport, inflight, bridge_to=rport, qos=qos)
        bridge = None
    else:
        local = procs.broker(lab, "local", lport, inflight)
        bridge = procs.mqbridge(lab, lport, rport, qos, shared=shared, rate=rate)
    end = time.time() + 20
    while True:
        r = run(lab, lport, rport, 1, 64, 200, timeout=5, idle=1)
        if r.get("lost", 1) == 0 or time.time() > end:
            break
        time.sleep(0.2)
    if r.get("lost", 1) != 0:
        raise RuntimeError(f"{mode}: the path does not forward (warm-up lost {r.get('lost')})")
    return local, remote, bridge, lport, rport

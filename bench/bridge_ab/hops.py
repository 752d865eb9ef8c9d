"""--hops: where each message waited, hop by hop, from a capture of the loopback traffic.

One more latency run per mode at the latency rate, with tcpdump capturing both brokers' ports.
Each loadgen message is found in every TCP segment by its payload (8-byte sequence number,
8-byte send time, size - 16 bytes of 'x' that end the PUBLISH), and its first sight on each
connection splits its time into hops:

  pub>local      the publisher's PUBLISH to the local broker
  local>bridge   the local broker's PUBLISH to mqbridge (B only; A's bridge is inside the broker)
  bridge>remote  the bridge's PUBLISH to the remote broker (mqbridge, or A's native bridge)
  remote>sub     the remote broker's PUBLISH to the subscriber

The capture takes CPU itself: its figures attribute the tail, while the latency table stays
with the runs without it. Needs tcpdump and CAP_NET_RAW.
"""

import os
import re
import signal
import struct
import subprocess
import time

from . import loadgen, procs
from .cases import HOPS_MAX_SIZE

HOPS = ("pub>local", "local>bridge", "bridge>remote", "remote>sub")


def captured_runs(lab, plan, case, rate):
    """The captured run of each mode for a case small enough to find in the capture:
    {mode: hop_stats record}, without the modes where tcpdump could not capture."""
    out = {}
    if case.size > HOPS_MAX_SIZE:
        return out
    for mode in ("A", "B"):
        h = captured_latency(lab, plan, case, mode, rate)
        if h:
            out[mode] = h
            print(f"  {case.name} captured run at {rate:,.0f} msg/s {mode}: "
                  + ", ".join(f"{k} p50/p99 {v[0]:.0f}/{v[1]:.0f} us"
                              for k, v in h["hops"].items())
                  + f"; on the wire p99 {h['total'][1]:.0f} us, loadgen p99 "
                  f"{h['p99_us']:.0f} us", flush=True)
    return out


def start_tcpdump(pcap, errlog, lport, rport):
    """tcpdump writing both ports' traffic to pcap, once it says it is listening (or has
    exited: the caller checks poll())."""
    with open(errlog, "w") as err:
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-s", "0", "-B", "65536",
                                 "--time-stamp-precision", "nano", "-w", pcap,
                                 f"tcp port {lport} or tcp port {rport}"],
                                stdout=subprocess.DEVNULL, stderr=err)
    end = time.time() + 10
    while time.time() < end and dump.poll() is None:
        with open(errlog) as f:
            if "listening on" in f.read():
                break
        time.sleep(0.05)
    return dump


def stop_tcpdump(dump):
    """SIGINT, so that tcpdump writes out what it buffered; killed if not gone within 30 s."""
    if dump and dump.poll() is None:
        dump.send_signal(signal.SIGINT)
        try:
            dump.wait(30)
        except subprocess.TimeoutExpired:
            dump.kill()
            dump.wait()


def captured_latency(lab, plan, case, mode, rate):
    """One latency run of `case` in `mode` at `rate` under capture: hop_stats() plus the
    loadgen's p50_us/p99_us and the packets tcpdump dropped (-1: not reported). None when
    tcpdump cannot capture here or too few hops were seen."""
    local, remote, bridge, lport, rport = loadgen.setup(lab, mode, case.inflight, case.qos,
                                                        shared=case.shared)
    pcap = os.path.join(lab.work, f"hops-{case.name}-{mode}.pcap")
    errlog = pcap[:-5] + ".log"
    count = max(2000, int(rate * (plan.lat_seconds + 1)))  # hop_stats leaves out 1 s
    dump, r = None, None
    try:
        dump = start_tcpdump(pcap, errlog, lport, rport)
        if dump.poll() is None:
            r = loadgen.run(lab, lport, rport, case.qos, case.size, count, window=case.window,
                            rate=rate)
    finally:
        stop_tcpdump(dump)
        procs.stop_all(bridge, local, remote)
    with open(errlog) as f:
        log = f.read()
    if r is None:
        print(f"  hops: tcpdump did not capture: {log.strip()[-200:]}")
        return None
    st = hop_stats(hop_times(pcap, lport, rport, case.size, count))
    os.unlink(pcap)
    if st:
        m = re.search(r"(\d+) packets? dropped by kernel", log)
        st.update(dropped=int(m.group(1)) if m else -1, p50_us=r.get("p50_us", 0),
                  p99_us=r.get("p99_us", 0))
    return st


def pcap_packets(path):
    """(time s, src port, dst port, TCP payload) of each IPv4 TCP packet with a payload in a
    little-endian pcap file (micro- or nanosecond time stamps)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise RuntimeError(f"{path}: not a little-endian pcap file")
    frac = 1e-9 if magic == 0xA1B23C4D else 1e-6
    link = struct.unpack("<I", data[20:24])[0]
    head = {0: 4, 1: 14, 113: 16, 276: 20}.get(link)  # null, Ethernet, Linux SLL, SLL2
    if head is None:
        raise RuntimeError(f"{path}: link type {link} not handled")
    off = 24
    while off + 16 <= len(data):
        sec, sub, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        ip = data[off + head:off + incl]
        off += incl
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        doff = (ip[ihl + 12] >> 4) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        payload = ip[ihl + doff:total]
        if payload:
            yield sec + sub * frac, sport, dport, payload


def message_seqs(payload, size, count):
    """Sequence numbers (below count) of the loadgen messages of `size` bytes whose payload
    lies whole in this TCP payload."""
    out = []
    pad = size - 16
    i = payload.find(b"x" * pad)
    while i >= 0:
        end = i
        while end < len(payload) and payload[end] == 0x78:
            end += 1
        start = end - size  # the last pad bytes end the payload; a 0x78 in the header shifts i
        if start >= 0:
            seq = struct.unpack("<Q", payload[start:start + 8])[0]
            if seq < count:
                out.append(seq)
        i = payload.find(b"x" * pad, end)
    return out


def hop_times(path, lport, rport, size, count):
    """{hop: {sequence number: time of first sight}} from a capture of both brokers' ports."""
    first = {h: {} for h in HOPS}
    for t, sport, dport, payload in pcap_packets(path):
        if dport == lport:
            hop = "pub>local"
        elif sport == lport:
            hop = "local>bridge"
        elif dport == rport:
            hop = "bridge>remote"
        elif sport == rport:
            hop = "remote>sub"
        else:
            continue
        seen = first[hop]
        for seq in message_seqs(payload, size, count):
            seen.setdefault(seq, t)
    return first


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0


def hop_stats(first, skip_s=1.0):
    """Per-hop latency (µs) of the messages seen on every hop, past the first skip_s seconds:
    {"n": messages, "hops": {name: (p50, p99, max, mean over the slowest 1 % end to end)},
    "total": (p50, p99, max) on the wire}. None with fewer than three hops seen, or no
    message seen on all of them past skip_s."""
    path = [h for h in HOPS if first[h]]
    if len(path) < 3:
        return None
    seqs = sorted(s for s in first["pub>local"] if all(s in first[h] for h in path))
    if not seqs:
        return None
    t0 = first["pub>local"][seqs[0]]
    seqs = [s for s in seqs if first["pub>local"][s] - t0 >= skip_s]
    if not seqs:
        return None
    names = {"local>bridge": "local broker", "bridge>remote": "mqbridge",
             "remote>sub": "remote broker"}
    if "local>bridge" not in path:
        names["bridge>remote"] = "local broker + native bridge"
    per_hop = {}
    for a, b in zip(path, path[1:]):
        per_hop[names[b]] = [(first[b][s] - first[a][s]) * 1e6 for s in seqs]
    total = [(first[path[-1]][s] - first[path[0]][s]) * 1e6 for s in seqs]
    cut = pct(total, 0.99)
    slow = [i for i, x in enumerate(total) if x >= cut]
    return {"n": len(seqs),
            "hops": {k: (pct(v, 0.5), pct(v, 0.99), max(v),
                         sum(v[i] for i in slow) / len(slow)) for k, v in per_hop.items()},
            "total": (pct(total, 0.5), pct(total, 0.99), max(total))}

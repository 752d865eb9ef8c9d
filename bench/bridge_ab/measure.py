"""Throughput, CPU, RSS and latency of one case in each mode.

CPU is utime+stime of a process from /proc/<pid>/stat over the measured run, per 100,000
received messages: the bridging process (A: the local broker with its native bridge; B:
mqbridge) and, in B, the local broker alone. RSS is the bridging process's peak (VmHWM).
Latency is the loadgen's send-to-arrival time at a fixed rate, half of the lower of A's and B's
median throughput, measured on three paths: direct (publisher and subscriber on the remote
broker, no bridge), A and B.
"""

import os
import statistics

from . import hops, loadgen, procs

CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """CPU seconds (user + system, all threads) of a live process; NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK  # utime, stime (fields 14, 15)
    except OSError:
        return float("nan")


def hwm_kib(pid):
    """Peak resident set size (VmHWM) of a live process in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def throughput(lab, case, mode):
    """One saturating run of `case` in `mode` on fresh brokers: the loadgen's result fields plus
    bridge_cpu_100k, local_cpu_100k, bridge_hwm_mib and the load average at its start."""
    local, remote, bridge, lport, rport = loadgen.setup(lab, mode, case.inflight, case.qos,
                                                        shared=case.shared)
    try:
        bpid = bridge.pid if bridge else local.pid
        c0, l0 = cpu_s(bpid), cpu_s(local.pid)
        la = loadavg()
        r = loadgen.run(lab, lport, rport, case.qos, case.size, case.count, window=case.window)
        c1, l1 = cpu_s(bpid), cpu_s(local.pid)
        n = max(1.0, r.get("received", 0))
        r["bridge_cpu_100k"] = (c1 - c0) / n * 1e5
        r["local_cpu_100k"] = (l1 - l0) / n * 1e5
        r["bridge_hwm_mib"] = hwm_kib(bpid) / 1024
        r["load"] = la
        return r
    finally:
        procs.stop_all(bridge, local, remote)


def latency(lab, plan, case, mode, rate):
    """One paced run of `case` at `rate` msg/s for plan.lat_seconds (at least 2,000 messages)
    on the path `mode`: "direct", "A" or "B"."""
    count = max(2000, int(rate * plan.lat_seconds))
    if mode == "direct":
        lport, rport = procs.free_port(), procs.free_port()
        remote = procs.broker(lab, "remote", rport, case.inflight)
        try:
            return loadgen.run(lab, lport, rport, case.qos, case.size, count,
                               window=case.window, rate=rate, direct=True)
        finally:
            remote.stop()
    local, remote, bridge, lport, rport = loadgen.setup(lab, mode, case.inflight, case.qos,
                                                        shared=case.shared)
    try:
        return loadgen.run(lab, lport, rport, case.qos, case.size, count, window=case.window,
                           rate=rate)
    finally:
        procs.stop_all(bridge, local, remote)


def throughput_reps(lab, plan, case):
    """plan.reps saturating runs per mode, alternating the order (A B, B A, ...)."""
    runs = {"A": [], "B": []}
    for rep in range(plan.reps):
        for mode in ("A", "B") if rep % 2 == 0 else ("B", "A"):
            r = throughput(lab, case, mode)
            runs[mode].append(r)
            print(f"  {case.name} rep {rep + 1} {mode}: {r.get('rate', 0):,.0f} msg/s "
                  f"received {r.get('received', 0):.0f}/{case.count} "
                  f"dup {r.get('dup', 0):.0f} reordered {r.get('reordered', 0):.0f} "
                  f"cpu/100k {r['bridge_cpu_100k']:.2f} s "
                  f"(load {r['load']:.1f})", flush=True)
    return runs


def latency_reps(lab, plan, case, rate):
    """plan.lat_reps paced runs per path at `rate`, alternating the order: one run's p99 is
    decided by the few worst milliseconds of this shared VM, so the report gives the median
    and the spread."""
    lat = {"direct": [], "A": [], "B": []}
    for rep in range(plan.lat_reps):
        for mode in ("direct", "A", "B") if rep % 2 == 0 else ("B", "A", "direct"):
            r = latency(lab, plan, case, mode, rate)
            lat[mode].append(r)
            print(f"  {case.name} latency rep {rep + 1} at {rate:,.0f} msg/s {mode}: p50 "
                  f"{r.get('p50_us', 0):.0f} us p99 {r.get('p99_us', 0):.0f} us "
                  f"lost {r.get('lost', 0):.0f} (load {loadavg():.1f})", flush=True)
    return lat


def run_case(lab, plan, case):
    """Everything measured for one case: throughput runs, latency runs at half the lower median
    throughput, and with plan.hops the captured runs. The record report() reads."""
    runs = throughput_reps(lab, plan, case)
    med = {m: statistics.median([r.get("rate", 0) for r in runs[m]]) for m in runs}
    rate = 0.5 * min(med.values())
    lat = latency_reps(lab, plan, case, rate)
    captured = hops.captured_runs(lab, plan, case, rate) if plan.hops else {}
    return {"case": case, "runs": runs, "median": med, "lat_rate": rate, "lat": lat,
            "hops": captured}

"""Scale-out (mode B only): does a route with a rate limit per client deliver N x the limit
with a shared subscription of N clients?"""

import time

from . import loadgen, procs
from .cases import SCALE_OUT
from .measure import loadavg


def scale_out(lab, plan, spec=SCALE_OUT):
    """One run per N in spec.clients: a QoS 1 route with rateLimit spec.per_client msg/s and a
    shared subscription of N, offered N x per_client x plan.scale_seconds messages as fast as
    the loadgen's window allows. The figure is the steady rate over the second half of the
    arrivals (past the token bucket's initial burst); `whole` (first to last arrival) includes
    the burst."""
    rows = []
    per = spec.per_client
    for n in spec.clients:
        lport, rport = procs.free_port(), procs.free_port()
        remote = procs.broker(lab, "remote", rport, spec.inflight)
        local = procs.broker(lab, "local", lport, spec.inflight)
        bridge = procs.mqbridge(lab, lport, rport, 1, shared=n, rate=per)
        try:
            time.sleep(0.5)  # all N members subscribed (readyz says so) and settled
            count = int(n * per * plan.scale_seconds)
            la = loadavg()
            r = loadgen.run(lab, lport, rport, 1, spec.size, count, window=100,
                            timeout=plan.scale_seconds * 3 + 30, idle=5)
            got = r.get("received", 0)
            rate = r.get("tail_rate", 0)
            rows.append({"n": n, "rate": rate, "whole": r.get("recv_rate", 0),
                         "target": n * per, "received": got, "count": count, "load": la})
            print(f"  scale-out N={n}: {rate:.1f} msg/s (target {n * per}, "
                  f"{100 * rate / (n * per) - 100:+.1f} %), received {got:.0f}/{count} "
                  f"(load {la:.1f})", flush=True)
        finally:
            procs.stop_all(bridge, local, remote)
    return rows

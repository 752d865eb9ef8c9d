"""--callgrind N: instructions (Ir) per forwarded message of build/mqbridge under callgrind.

Two runs of mode B with mqbridge under `valgrind --tool=callgrind`: one with only the
200-message warm-up, one with N more messages. The difference of their totals divided by N is
the cost of one message, without start-up, configuration and shutdown. Instruction counts do
not depend on the machine's load, unlike every other figure of bridge-ab.
"""

import os
import signal

from . import loadgen


def callgrind_total(path):
    """The total Ir of a callgrind output file (its summary or totals line)."""
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    return 0


def profile(lab, messages, qos, size, out_dir):
    """Prints the Ir per forwarded message of `messages` messages of `size` bytes at `qos`;
    the profiles stay in out_dir as callgrind.mqbridge.0 and callgrind.mqbridge.<messages>."""
    out = {}
    for n in (0, messages):
        lab.callgrind_out = os.path.join(out_dir, f"callgrind.mqbridge.{n}")
        local, remote, bridge, lport, rport = loadgen.setup(lab, "B", 100, qos)
        try:
            if n:
                r = loadgen.run(lab, lport, rport, qos, size, n, window=100, timeout=600,
                                idle=20)
                print(f"  callgrind run: {r.get('received', 0):.0f}/{n} received, "
                      f"{r.get('rate', 0):.0f} msg/s under valgrind", flush=True)
        finally:
            bridge.stop(sig=signal.SIGTERM, timeout=120)  # callgrind writes its file at exit
            local.stop()
            remote.stop()
        out[n] = callgrind_total(lab.callgrind_out)
    ir = (out[messages] - out[0]) / messages
    print(f"callgrind: qos {qos}, {size} B: Ir total {out[messages]:,} with "
          f"{messages} messages, {out[0]:,} without: {ir:,.0f} instructions per forwarded "
          f"message (profile: {lab.callgrind_out})")

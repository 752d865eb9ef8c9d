"""What a bridge-ab run measures, declared as data.

A case is one load pattern measured in both modes (A: mosquitto's native bridge inside the local
broker; B: mqbridge between two brokers). Adding a case is adding a record to CASES; the report's
rows follow this order, and `--cases a,b` picks records by name.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    qos: int  # of the loadgen's PUBLISHes, A's `topic ... out <qos>` and B's route
    size: int  # payload bytes (the loadgen needs at least 16: sequence number and send time)
    count: int  # messages per throughput run
    quick_count: int  # the same with --quick
    window: int  # loadgen: QoS 1 messages in flight; QoS 0 messages ahead of the subscriber
    inflight: int = 100  # max_inflight_messages of both brokers
    shared: int = 0  # B: a shared subscription of N clients (A keeps one bridge connection)


CASES = [
    Case("qos0-64B", qos=0, size=64, count=60_000, quick_count=20_000, window=1000),
    Case("qos1-64B", qos=1, size=64, count=60_000, quick_count=20_000, window=100),
    Case("qos0-4KiB", qos=0, size=4096, count=30_000, quick_count=10_000, window=500),
    Case("qos1-4KiB", qos=1, size=4096, count=30_000, quick_count=10_000, window=100),
    Case("qos1-64B-shared4", qos=1, size=64, count=60_000, quick_count=20_000, window=100,
         shared=4),
]

# --hops captures only cases with payloads up to this size: a message is found in the capture
# by its payload, and large payloads only cost capture time without changing the attribution.
HOPS_MAX_SIZE = 64


@dataclasses.dataclass(frozen=True)
class ScaleOut:
    """B alone: a QoS 1 route with rateLimit per_client msg/s on each of N shared-subscription
    clients, offered more than N x per_client; the figure is how close it stays to the target."""
    clients: tuple = (1, 2, 4, 8)
    per_client: int = 100
    seconds: int = 10  # of offered load at the target rate
    quick_seconds: int = 5
    size: int = 64
    inflight: int = 100


SCALE_OUT = ScaleOut()

# Backlog: messages spooled by B while the remote broker is down (--backlog-count overrides).
BACKLOG_COUNT = 1_000_000


@dataclasses.dataclass(frozen=True)
class Plan:
    """The repetition counts and durations of one run, from the command line."""
    reps: int  # throughput runs per mode and case, A and B alternating
    lat_reps: int  # latency runs per mode (direct, A, B) and case
    lat_seconds: int  # length of a latency run at the fixed rate
    scale_seconds: int
    backlog_count: int
    hops: bool


def plan(quick, reps=None, lat_reps=None, backlog_count=BACKLOG_COUNT, hops=False):
    reps = reps or (2 if quick else 3)
    return Plan(reps=reps, lat_reps=lat_reps or reps, lat_seconds=2 if quick else 3,
                scale_seconds=SCALE_OUT.quick_seconds if quick else SCALE_OUT.seconds,
                backlog_count=backlog_count, hops=hops)


def select(names, quick):
    """The cases named in `names` (all when empty), in CASES order, with their message counts
    for this run (quick_count under --quick)."""
    want = set(names)
    chosen = [c for c in CASES if not want or c.name in want]
    if quick:
        chosen = [dataclasses.replace(c, count=c.quick_count) for c in chosen]
    return chosen

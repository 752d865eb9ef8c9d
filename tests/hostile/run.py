#!/usr/bin/env python3
"""Driver of the hostile-peer suite (tests/hostile/README.md).

usage: run.py --list
       run.py --build DIR [--case NAME]... [--keep] [--json FILE]

Per case: two mosquitto brokers L and R, a scripted peer (cases.py), `<build>/mqbridge run` with
two connectors: `healthy` (L -> R, `healthy/#`) and `hostile` (the peer as remote broker, L as
local). The case passes when the bridge is alive at the end and exits 0 on SIGTERM within
--drain-seconds + 5 s, every healthy message published during the case arrived on R, VmHWM and
CPU stayed under the case's bounds, the log named an accepted cause, reconnects backed off, and
the case's own checks hold. Exit status 0 when every case run passed, 1 otherwise, 2 on a usage
error.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as case_table  # noqa: E402
import peer as P  # noqa: E402
from token_endpoint import TokenEndpoint  # noqa: E402

DRAIN_SECONDS = 1
CASE_BUDGET = 20.0        # wall seconds per case
HEALTHY_PERIOD = 0.1      # one healthy message every this many seconds
AFTER_SECONDS = 0.3       # healthy traffic still published after the run phase
RSS_KILL_MIB = 1024       # the watchdog kills a bridge above this (protects the machine)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False
    return P.wait_for(up, timeout, 0.02)


# --- processes ------------------------------------------------------------------------------------
class Mosquitto:
    def __init__(self, workdir, name, extra=()):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nlog_dest file %s/mosquitto.log\n"
                    "log_type error\nlog_type warning\nlog_type notice\n"
                    "connection_messages true\n" % (self.port, self.dir))
            for line in extra:
                f.write(line + "\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "w"))
        if not wait_port(self.port, 5):
            raise RuntimeError("mosquitto %s did not listen on %d" % (name, self.port))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class HealthyTraffic:
    """mosquitto_sub on R collects `healthy/#`; mosquitto_pub -l on L publishes one numbered
    message every HEALTHY_PERIOD while running. `sent` are the numbers published after the
    route was seen working; all of them must arrive."""

    def __init__(self, l_port, r_port):
        self.sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(r_port), "-t", "healthy/#", "-q", "1",
             "-v", "-i", "test-healthy-sub"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.pub = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(l_port), "-t", "healthy/seq", "-q",
             "1", "-l", "-i", "test-healthy-pub"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.got = set()
        self.warm = False
        self.sent = []
        self.n = 0
        self.running = True
        self.publishing = True
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._publish, daemon=True).start()

    def _read(self):
        for line in self.sub.stdout:
            parts = line.decode(errors="replace").split()
            if len(parts) == 2:
                with self.lock:
                    self.warm = True
                    self.got.add(parts[1])

    def _publish(self):
        next_at = time.monotonic()
        while self.running:
            if self.publishing:
                with self.lock:
                    self.n += 1
                    msg = ("m%d" if self.warm else "w%d") % self.n
                    if self.warm:
                        self.sent.append(msg)
                try:
                    self.pub.stdin.write(msg.encode() + b"\n")
                    self.pub.stdin.flush()
                except OSError:
                    return
            next_at += HEALTHY_PERIOD
            time.sleep(max(0.0, next_at - time.monotonic()))

    def missing(self):
        with self.lock:
            return [m for m in self.sent if m not in self.got]

    def stop(self):
        self.running = False
        for p in (self.pub, self.sub):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(2)
                except subprocess.TimeoutExpired:
                    p.kill()


class Bridge:
    def __init__(self, build, workdir, env, extra_args=()):
        self.bin = os.path.join(build, "mqbridge")
        self.prom_sum = os.path.join(build, "mqb_prom_sum")
        self.dir = workdir
        self.state = os.path.join(workdir, "state")
        self.metrics_port = free_port()
        self.log_path = os.path.join(workdir, "bridge.log")
        args = [self.bin, "run", "-c", os.path.join(workdir, "config"),
                "--metrics-address", "127.0.0.1:%d" % self.metrics_port,
                "--state-dir", self.state, "--log-json", "--log-level", "info",
                "--drain-seconds", str(DRAIN_SECONDS),
                "--secrets-dir", os.path.join(workdir, "secrets"),
                "--configmaps-dir", os.path.join(workdir, "configmaps")] + list(extra_args)
        self.proc = subprocess.Popen(args, stdout=open(self.log_path + ".out", "w"),
                                     stderr=open(self.log_path, "w"), env=env)
        self.pid = self.proc.pid
        self.killed_for_memory = None
        self.peak_rss_mib = 0.0
        self._watch = True
        threading.Thread(target=self._watchdog, daemon=True).start()

    def _watchdog(self):
        while self._watch and self.proc.poll() is None:
            rss = self.status_kib("VmRSS")
            if rss is not None:
                self.peak_rss_mib = max(self.peak_rss_mib, rss / 1024)
                if rss / 1024 > RSS_KILL_MIB:
                    self.killed_for_memory = rss / 1024
                    self.proc.kill()
                    return
            time.sleep(0.05)

    def dump_threads(self, path):
        """What every thread waits in (for a bridge that does not exit): comm, wchan, syscall;
        with MQB_HOSTILE_GDB=1 also gdb's backtraces."""
        lines = []
        task = "/proc/%d/task" % self.pid
        for tid in sorted(os.listdir(task)) if os.path.isdir(task) else []:
            row = [tid]
            for f in ("comm", "wchan", "syscall"):
                try:
                    with open(os.path.join(task, tid, f)) as fh:
                        row.append(fh.read().strip())
                except OSError:
                    row.append("?")
            lines.append("  ".join(row))
        if os.environ.get("MQB_HOSTILE_GDB") and shutil.which("gdb"):
            r = subprocess.run(["gdb", "-p", str(self.pid), "-batch", "-ex",
                                "thread apply all bt 12"], capture_output=True, timeout=60)
            lines.append(r.stdout.decode(errors="replace"))
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")

    def alive(self):
        return self.proc.poll() is None

    def status_kib(self, key):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None

    def cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            return None

    def log(self):
        out = []
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(obj, dict):
                        out.append(obj)
        except OSError:
            pass
        return out

    def raw_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def metrics(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port,
                                        timeout=2) as r:
                return r.read().decode(errors="replace")
        except OSError:
            return ""

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include every `labels` pair, read by
        <build>/mqb_prom_sum (the tests' one reader of the Prometheus text format)."""
        selectors = ['%s="%s"' % (k, v) for k, v in labels.items()]
        r = subprocess.run([self.prom_sum, name] + selectors, input=self.metrics(),
                           capture_output=True, text=True, timeout=10)
        return float(r.stdout.strip() or 0)

    def terminate(self, timeout):
        """SIGTERM; (exit status or None if it did not exit within timeout, seconds taken)."""
        t0 = time.monotonic()
        if self.proc.poll() is not None:
            return self.proc.returncode, 0.0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self.dump_threads(os.path.join(self.dir, "hang.txt"))
            self.proc.kill()
            self.proc.wait()
        self._watch = False
        return rc, time.monotonic() - t0


def run_help(build):
    try:
        return subprocess.run([os.path.join(build, "mqbridge"), "run", "--help"],
                              capture_output=True, timeout=10).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


# --- configuration --------------------------------------------------------------------------------
def connection_yaml(key, endpoint, tls_ca=None, auth="anonymous: {}", websocket=False):
    y = "  %s:\n    endpoint: %s\n" % (key, endpoint)
    if websocket:
        y += "    protocol: webSocket\n"
    if tls_ca:
        y += "    tls:\n      tlsEnabled: true\n      trustedCaCertificateConfigMap: %s\n" % tls_ca
    else:
        y += "    tls:\n      tlsEnabled: false\n"
    y += "    authentication:\n      %s\n" % auth
    return y


def connector_yaml(name, protocol, remote, local, extra=""):
    return ("apiVersion: mq.iotoperations.azure.com/v1beta1\nkind: MqttBridgeConnector\n"
            "metadata:\n  name: %s\n  namespace: azure-iot-operations\nspec:\n"
            "  image:\n    repository: mcr.microsoft.com/azureiotoperations/mqttbridge\n"
            "    tag: 0.1.0-preview\n    pullPolicy: IfNotPresent\n"
            "  protocol: %s\n  bridgeInstances: 1\n  clientIdPrefix: %s-\n  logLevel: info\n"
            % (name, protocol, name)) + remote + local + extra


def topic_map_yaml(name, connector, route, direction, source, extra=""):
    return ("apiVersion: mq.iotoperations.azure.com/v1beta1\nkind: MqttBridgeTopicMap\n"
            "metadata:\n  name: %s\n  namespace: azure-iot-operations\nspec:\n"
            "  mqttBridgeConnectorRef: %s\n  routes:\n"
            "    - direction: %s\n      name: %s\n      qos: 1\n      source: \"%s\"\n"
            % (name, connector, direction, route, source)) + extra


# --- assertions shared by every case --------------------------------------------------------------
def backoff_problem(times, min_attempts):
    """None if `times` (connection attempts) show at least `min_attempts` attempts spaced like
    the bridge's backoff (200 ms doubling to 30 s, each delay jittered to [d/2, d]), else why
    not. Robust against jitter and scheduling: every gap >= 80 ms (the shortest jittered delay
    is 100 ms), the last gap at least half the first (the delays do not shrink), and no more
    attempts than the shortest possible delays (100, 200, 400 ms ...) fit into the time they
    span, plus one."""
    if len(times) < min_attempts:
        return "%d connection attempts, wanted >= %d" % (len(times), min_attempts)
    gaps = [b - a for a, b in zip(times, times[1:])]
    if not gaps:
        return None
    if min(gaps) < 0.08:
        return "reconnect gap of %.0f ms (busy loop; backoff starts at 100-200 ms)" % (
            min(gaps) * 1000)
    if gaps[-1] < gaps[0] / 2:
        return "gaps shrink: first %.0f ms, last %.0f ms" % (gaps[0] * 1000, gaps[-1] * 1000)
    span, allowed, delay, t = times[-1] - times[0], 1, 0.1, 0.0
    while t + delay <= span + 0.05:
        t += delay
        allowed += 1
        delay = min(delay * 2, 15.0)
    if len(times) > allowed + 1:
        return "%d attempts in %.1f s: more than the backoff allows (%d)" % (
            len(times), span, allowed + 1)
    return None


def hostile_entries(log):
    """Log objects about the hostile connector."""
    def about(e):
        for k in ("client", "name", "connector"):
            v = e.get(k)
            if isinstance(v, str) and v.startswith("hostile"):
                return True
        return False
    return [e for e in log if about(e)]


CAUSE_EVENTS = ("mqtt_connect_failed", "mqtt_connection_lost")


def reasons_seen(log):
    seen = []
    for e in hostile_entries(log):
        if e.get("event") in CAUSE_EVENTS + ("deadletter_stored",):
            r = e.get("reason")
            r = '""' if r in (None, "") else r
            if e["event"] == "deadletter_stored":
                r = "dl:" + r
            if r not in seen:
                seen.append(r)
    return seen


def cause_logged(log, reasons):
    return any(e.get("event") in CAUSE_EVENTS and e.get("reason") in reasons
               for e in hostile_entries(log))


def deadletter_logged(log, reason):
    return any(e.get("event") == "deadletter_stored" and e.get("reason") == reason
               for e in hostile_entries(log))


# --- one case -------------------------------------------------------------------------------------
class Ctx:
    """What a case's hooks see: brokers, peer, token endpoint, bridge, the test's own clients on
    L (`lsub`: subscribed to hostile/# for source-side cases; `lpub` for target-side cases), a
    scratch dict, `failures` to append to, and helpers."""

    def __init__(self, case, workdir):
        self.case, self.dir = case, workdir
        self.scratch = {}
        self.failures = []
        self.peer = self.token = self.bridge = self.L = self.R = None
        self.lsub = self.lpub = None
        self.arc_dir = os.path.join(workdir, "arc-tokens")
        self.t_run = None

    def log(self):
        return self.bridge.log()

    def hostile_log(self):
        return hostile_entries(self.bridge.log())

    def metric(self, name, **labels):
        return self.bridge.metric(name, **labels)

    def fail(self, text):
        self.failures.append(text)

    def attempts(self):
        if self.case.attempts_from == "token":
            return self.token.first_requests()
        return list(self.peer.attempts) if self.peer else []

    def hostile_subscribed(self):
        """The bridge's hostile subscriber on L (target-side cases) has its subscription."""
        return any(e.get("event") == "mqtt_subscribed" for e in self.hostile_log())

    def peer_publishes(self):
        """[(conn index, publish info)] the peer received."""
        with self.peer.lock:
            return [(i, w) for _, i, d, w in self.peer.events if d == "publish"]


def run_case(case, build, keep=False):
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="mqb-hostile-%s-" % case.name)
    ctx = Ctx(case, workdir)
    result = {"case": case.name, "result": "FAIL", "reasons": [], "vmhwm_mib": None,
              "cpu_pct": None, "attempts": None, "seconds": None, "failures": ctx.failures,
              "dir": workdir}
    try:
        _run(case, build, ctx, result)
    except Exception as e:  # a harness problem is a failed case, reported as such
        ctx.fail("harness: %s: %s" % (type(e).__name__, e))
    finally:
        for closer in (lambda: ctx.lsub and ctx.lsub.close(),
                       lambda: ctx.lpub and ctx.lpub.close(),
                       lambda: ctx.scratch.get("healthy") and ctx.scratch["healthy"].stop(),
                       lambda: ctx.bridge and ctx.bridge.alive() and ctx.bridge.proc.kill(),
                       lambda: ctx.peer and ctx.peer.stop(),
                       lambda: ctx.token and ctx.token.stop(),
                       lambda: ctx.L and ctx.L.stop(),
                       lambda: ctx.R and ctx.R.stop()):
            try:
                closer()
            except Exception:
                pass
    result["seconds"] = round(time.monotonic() - t0, 1)
    if result["seconds"] > CASE_BUDGET:
        ctx.fail("case took %.1f s (budget %.0f s)" % (result["seconds"], CASE_BUDGET))
    if ctx.peer is not None and ctx.peer.errors:
        ctx.fail("peer script errors: %s" % "; ".join(ctx.peer.errors[:3]))
    result["result"] = "PASS" if not ctx.failures else "FAIL"
    if not keep and not os.environ.get("MQB_KEEP_TEST_DIRS") and result["result"] == "PASS":
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _run(case, build, ctx, result):
    workdir = ctx.dir
    os.makedirs(os.path.join(workdir, "config"))
    os.makedirs(os.path.join(workdir, "secrets"))
    os.makedirs(os.path.join(workdir, "configmaps"))
    os.makedirs(ctx.arc_dir)
    ctx.L = Mosquitto(workdir, "L", case.l_broker_extra)
    ctx.R = Mosquitto(workdir, "R")

    # The hostile side.
    tls_ca = None
    tls_ctx = None
    if case.transport in ("tls", "wss"):
        ca, cert, key = P.make_pki(os.path.join(workdir, "pki"), case.tls_name)
        os.makedirs(os.path.join(workdir, "configmaps", "hostile-ca"))
        shutil.copy(ca, os.path.join(workdir, "configmaps", "hostile-ca", "ca.pem"))
        tls_ca = "hostile-ca"
        tls_ctx = P.server_tls_context(cert, key)
    ctx.peer = P.PeerServer(case.script or (lambda conn: None),
                            tls_context=None if case.plain_peer else tls_ctx,
                            websocket=case.transport in ("ws", "wss"),
                            ws_upgrade=case.ws_upgrade, rcvbuf=case.peer_rcvbuf,
                            name="peer").start()
    auth = "anonymous: {}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT")}
    if case.token is not None:
        ctx.token = TokenEndpoint(case.token).start()
        env["IDENTITY_ENDPOINT"] = ctx.token.url
        auth = "systemAssignedManagedIdentity:\n        audience: https://eventgrid.azure.net/"
    if case.setup is not None:
        case.setup(ctx)
    direction = case.direction
    remote = connection_yaml("remoteBrokerConnection", "127.0.0.1:%d" % ctx.peer.port, tls_ca,
                             auth, websocket=case.transport in ("ws", "wss"))
    local = connection_yaml("localBrokerConnection", "127.0.0.1:%d" % ctx.L.port)
    cfg = os.path.join(workdir, "config")
    with open(os.path.join(cfg, "healthy.yaml"), "w") as f:
        f.write(connector_yaml("healthy", "v5",
                               connection_yaml("remoteBrokerConnection",
                                               "127.0.0.1:%d" % ctx.R.port), local))
        f.write("---\n")
        f.write(topic_map_yaml("healthy-map", "healthy", "healthy-route", "local-to-remote",
                               "healthy/#"))
    with open(os.path.join(cfg, "hostile.yaml"), "w") as f:
        f.write(connector_yaml("hostile", case.protocol, remote, local, case.connector_extra))
        f.write("---\n")
        f.write(topic_map_yaml("hostile-map", "hostile", "hostile-route", direction,
                               "hostile/#", case.route_extra))

    extra_args = []
    if case.token is not None and "--arc-key-dir" in run_help(build):
        extra_args += ["--arc-key-dir", ctx.arc_dir]
    if direction == "remote-to-local":
        ctx.lsub = P.Client(ctx.L.port, "test-hostile-sub")
        ctx.lsub.subscribe("hostile/#", 1)
    else:
        ctx.lpub = P.Client(ctx.L.port, "test-hostile-pub")

    ctx.bridge = Bridge(build, workdir, env, extra_args)
    healthy = HealthyTraffic(ctx.L.port, ctx.R.port)
    ctx.scratch["healthy"] = healthy
    if not P.wait_for(lambda: healthy.warm or not ctx.bridge.alive(), 8):
        ctx.fail("healthy route never forwarded a first message")
    if not ctx.bridge.alive():
        ctx.fail("bridge exited at start (status %s): %s" % (
            ctx.bridge.proc.returncode, ctx.bridge.raw_log()[-400:].decode(errors="replace")))
        return
    if direction == "local-to-remote":
        # The hostile subscriber on L must be subscribed before the case publishes there.
        P.wait_for(ctx.hostile_subscribed, 5)

    # The run phase: the misbehaviour, with the healthy route publishing throughout.
    cpu0, t_cpu0 = ctx.bridge.cpu_seconds(), time.monotonic()
    ctx.t_run = t_cpu0
    if case.run is not None:
        case.run(ctx)

    def done():
        if not ctx.bridge.alive():
            return True
        if time.monotonic() - t_cpu0 < case.min_run:
            return False
        log = ctx.log()
        if case.reasons and not cause_logged(log, case.reasons):
            return False
        if case.deadletter and not deadletter_logged(log, case.deadletter):
            return False
        if case.min_attempts and len(ctx.attempts()) < case.min_attempts:
            return False
        return case.done is None or case.done(ctx)
    P.wait_for(done, max(0.0, case.run_timeout - (time.monotonic() - t_cpu0)), 0.05)
    if case.during is not None:
        case.during(ctx)
    # An observation window (not a wait for a condition): the healthy route keeps publishing a
    # little beyond the misbehaviour.
    time.sleep(AFTER_SECONDS)
    cpu1, t_cpu1 = ctx.bridge.cpu_seconds(), time.monotonic()
    healthy.publishing = False
    P.wait_for(lambda: not healthy.missing(), 5)

    # 1. alive
    alive = ctx.bridge.alive()
    if ctx.bridge.killed_for_memory:
        ctx.fail("bridge killed by the watchdog at %.0f MiB RSS" % ctx.bridge.killed_for_memory)
    elif not alive:
        ctx.fail("bridge died during the case (status %s)" % ctx.bridge.proc.returncode)
    # 2. healthy route
    missing = healthy.missing()
    if not healthy.sent:
        ctx.fail("no healthy message was published after warm-up")
    elif missing:
        ctx.fail("healthy route lost %d of %d messages (first missing %s)" % (
            len(missing), len(healthy.sent), missing[0]))
    # 3. memory
    hwm = ctx.bridge.status_kib("VmHWM")
    hwm_mib = hwm / 1024 if hwm is not None else ctx.bridge.peak_rss_mib
    result["vmhwm_mib"] = round(hwm_mib, 1)
    if hwm_mib > case.mem_mib:
        ctx.fail("VmHWM %.1f MiB > %d MiB" % (hwm_mib, case.mem_mib))
    # 6. CPU
    if cpu0 is not None and cpu1 is not None and t_cpu1 > t_cpu0:
        pct = 100.0 * (cpu1 - cpu0) / (t_cpu1 - t_cpu0)
        result["cpu_pct"] = round(pct, 1)
        if case.cpu_limit is not None and pct > case.cpu_limit:
            ctx.fail("CPU %.0f %% of a core over %.1f s (limit %d %%)" % (
                pct, t_cpu1 - t_cpu0, case.cpu_limit))
    # 4. cause in the log
    log = ctx.log()
    result["reasons"] = reasons_seen(log)
    if case.reasons and not cause_logged(log, case.reasons):
        ctx.fail("log names no accepted cause (wanted reason in %s; saw %s)" % (
            "/".join(case.reasons), ", ".join(result["reasons"]) or "none"))
    if case.deadletter and not deadletter_logged(log, case.deadletter):
        ctx.fail("no deadletter_stored with reason %s" % case.deadletter)
    # 5. backoff
    attempts = ctx.attempts()
    result["attempts"] = len(attempts)
    if case.min_attempts:
        problem = backoff_problem(attempts, case.min_attempts)
        if problem:
            ctx.fail("backoff: " + problem)
    # the case's own assertions (while the bridge still runs)
    for check in case.checks:
        try:
            check(ctx)
        except Exception as e:
            ctx.fail("check %s raised %s: %s" % (getattr(check, "__name__", "?"),
                                                 type(e).__name__, e))
    # 1b. SIGTERM
    if alive:
        bound = DRAIN_SECONDS + 5
        rc, took = ctx.bridge.terminate(bound)
        if ctx.bridge.killed_for_memory:
            ctx.fail("bridge killed by the watchdog at %.0f MiB RSS (before it exited)" %
                     ctx.bridge.killed_for_memory)
        elif rc is None:
            ctx.fail("no exit within %d s of SIGTERM (killed)" % bound)
        elif rc != 0:
            ctx.fail("exit status %s after SIGTERM (%.1f s)" % (rc, took))
    for check in case.after_stop:
        try:
            check(ctx)
        except Exception as e:
            ctx.fail("check %s raised %s: %s" % (getattr(check, "__name__", "?"),
                                                 type(e).__name__, e))


def print_table(results, out=sys.stdout):
    head = ("case", "result", "reason seen", "VmHWM MiB", "CPU %", "attempts", "s")
    rows = [(r["case"], r["result"], ",".join(r["reasons"]) or "-",
             "-" if r["vmhwm_mib"] is None else "%.1f" % r["vmhwm_mib"],
             "-" if r["cpu_pct"] is None else "%.1f" % r["cpu_pct"],
             "-" if r["attempts"] is None else str(r["attempts"]), "%.1f" % r["seconds"])
            for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    print(fmt % head, file=out)
    for row in rows:
        print(fmt % row, file=out)
    for r in results:
        for f in r["failures"]:
            print("%s: %s" % (r["case"], f), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--build", help="build directory holding mqbridge")
    ap.add_argument("--case", action="append", default=[], help="run only this case")
    ap.add_argument("--keep", action="store_true", help="keep every case's directory")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    a = ap.parse_args()
    table = case_table.CASES
    if a.list:
        for c in table:
            print(c.name)
        return 0
    if not a.build:
        ap.error("--build is required unless --list")
    for exe in ("mqbridge", "mqb_prom_sum"):
        if not os.access(os.path.join(a.build, exe), os.X_OK):
            ap.error("no executable %s/%s" % (a.build, exe))
    by_name = {c.name: c for c in table}
    unknown = [n for n in a.case if n not in by_name]
    if unknown:
        ap.error("unknown case(s): %s" % ", ".join(unknown))
    selected = [by_name[n] for n in a.case] if a.case else table
    results = []
    for c in selected:
        r = run_case(c, a.build, a.keep)
        results.append(r)
        if len(selected) == 1 or r["result"] == "FAIL":
            for f in r["failures"]:
                print("%s: %s" % (c.name, f), file=sys.stderr)
            if r["result"] == "FAIL":
                print("%s: kept %s" % (c.name, r["dir"]), file=sys.stderr)
        print("%s %s (%.1f s) reasons=%s VmHWM=%s MiB CPU=%s%% attempts=%s" % (
            r["result"], c.name, r["seconds"], ",".join(r["reasons"]) or "-", r["vmhwm_mib"],
            r["cpu_pct"], r["attempts"]), flush=True)
    if len(selected) > 1:
        print()
        print_table(results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all(r["result"] == "PASS" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

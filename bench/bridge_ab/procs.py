"""The processes of a run: mosquitto brokers and mqbridge on free loopback ports.

Every process gets its own session (a signal to the run's terminal does not reach it) and a log
file in the run's work directory; stop_all() ends them in the order given, the bridge before the
brokers it is connected to, so that neither side logs the other's disappearance as a failure.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Proc:
    """A child process whose stdout and stderr go to `log`."""

    def __init__(self, argv, log):
        self.log = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def stop_all(*procs):
    """Stops the given processes in order (None entries are skipped)."""
    for p in procs:
        if p:
            p.stop()


class Lab:
    """One run's work directory and binaries. `seq` numbers everything a run creates (bridge
    configurations, loadgen client ids, progress files) so that no two share a name."""

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.loadgen = os.path.join(self.build, "bench", "loadgen")
        self.mqbridge = os.path.join(self.build, "mqbridge")
        self.ackserver = os.path.join(self.build, "bench", "ackserver")
        self.work = tempfile.mkdtemp(prefix="bridge-ab-")
        self.seq = 0
        self.callgrind_out = ""  # when set, mqbridge runs under callgrind writing this file

    def next_seq(self):
        self.seq += 1
        return self.seq


def broker(lab, name, port, inflight, bridge_to=None, qos=1, extra=""):
    """mosquitto on 127.0.0.1:port without queueing limits (max_queued_messages 0) and with
    `inflight` messages in flight per client. With bridge_to, it is mode A: its own bridge
    forwards bench/# at `qos` to the broker on that port. `extra` replaces the default
    `persistence false` line."""
    conf = os.path.join(lab.work, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                f"max_queued_messages 0\nmax_inflight_messages {inflight}\n"
                "log_dest none\n")
        f.write(extra or "persistence false\n")
        if bridge_to:
            f.write(f"connection ab\naddress 127.0.0.1:{bridge_to}\n"
                    f"topic bench/# out {qos}\nbridge_protocol_version mqttv50\n"
                    "cleansession true\nbridge_attempt_unsubscribe false\n"
                    "try_private false\nnotifications false\nstart_type automatic\n"
                    "restart_timeout 1\n")
    p = Proc(["mosquitto", "-c", conf], os.path.join(lab.work, f"{name}.log"))
    if not wait_port(port):
        raise RuntimeError(f"mosquitto {name} did not start")
    return p


def bridge_yaml(seq, lport, rport, qos, route_extra):
    """mqbridge's configuration: one connector between the two brokers and one local-to-remote
    route of bench/# at `qos`; route_extra holds further route fields, indented for the route."""
    return f"""apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: ab
spec:
  image:
    repository: mqbridge
    tag: bench
  protocol: v5
  clientIdPrefix: ab{seq}-
  logLevel: info
  remoteBrokerConnection:
    endpoint: 127.0.0.1:{rport}
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {{}}
  localBrokerConnection:
    endpoint: 127.0.0.1:{lport}
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {{}}
---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: ab
spec:
  mqttBridgeConnectorRef: ab
  routes:
    - direction: local-to-remote
      name: r
      qos: {qos}
      source: bench/#
{route_extra}"""


def route_fields(shared=0, rate=0, spool=False):
    """The optional route fields: a shared subscription of `shared` clients, a rate limit of
    `rate` msg/s per client, the durable spool (fsync on the default interval)."""
    extra = ""
    if shared:
        extra += (f"      sharedSubscription:\n        groupName: g\n"
                  f"        groupMinimumShareNumber: {shared}\n")
    if rate:
        extra += f"      rateLimit:\n        messagesPerSecond: {rate}\n"
    if spool:
        extra += "      spool:\n        fsync: interval\n"
    return extra


def mqbridge(lab, lport, rport, qos, shared=0, rate=0, spool=False):
    """Mode B's bridge, started and ready (its /readyz answers 200: all routes subscribed).
    Under callgrind (lab.callgrind_out) it gets 90 s to become ready instead of 15."""
    d = os.path.join(lab.work, f"cfg{lab.seq}")
    seq = lab.next_seq()
    os.makedirs(d)
    mport = free_port()
    with open(os.path.join(d, "bridge.yaml"), "w") as f:
        f.write(bridge_yaml(seq, lport, rport, qos, route_fields(shared, rate, spool)))
    argv = [lab.mqbridge, "run", "-c", d, "--metrics-address", f"127.0.0.1:{mport}",
            "--log-level", "warn", "--drain-seconds", "1",
            "--state-dir", os.path.join(d, "state")]
    if lab.callgrind_out:
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={lab.callgrind_out}",
                "--dump-instr=no"] + argv
    p = Proc(argv, os.path.join(d, "mqbridge.log"))
    end = time.time() + (90 if lab.callgrind_out else 15)
    while time.time() < end:
        try:
            url = f"http://127.0.0.1:{mport}/readyz"
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return p
        except Exception:
            pass
        if p.p.poll() is not None:
            break
        time.sleep(0.05)
    p.stop()
    raise RuntimeError(f"mqbridge did not become ready (see {d}/mqbridge.log)")

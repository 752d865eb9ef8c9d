"""The command line of bench/bridge-ab and the order of a run: cases, scale-out, backlog, then
the report; or, with --callgrind, the instruction count alone."""

import argparse
import os
import shutil
import subprocess
import sys
import time

from . import backlog, callgrind, cases, measure, procs, report, scaleout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer messages and repetitions")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--lat-reps", type=int, default=None,
                    help="latency runs per mode (default: --reps)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cases", default="")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-backlog", action="store_true")
    ap.add_argument("--backlog-count", type=int, default=cases.BACKLOG_COUNT)
    ap.add_argument("--plot", default=os.path.join(ROOT, "bench", "bridge-ab.png"))
    ap.add_argument("--markdown", default="")
    ap.add_argument("--hops", action="store_true",
                    help="per 64-byte case, one more latency run per mode captured with tcpdump "
                    "(needs CAP_NET_RAW): latency per hop (local broker, mqbridge, remote)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--callgrind", type=int, default=0,
                    help="instead: Ir per message of mqbridge under callgrind with N messages")
    ap.add_argument("--callgrind-dir", default=".")
    ap.add_argument("--qos", type=int, default=1, help="with --callgrind")
    ap.add_argument("--size", type=int, default=64, help="with --callgrind")
    return ap.parse_args(argv)


def commit_id():
    """HEAD's short hash, with +dirty when tracked files differ from it."""
    git = ["git", "-C", ROOT]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return commit + ("+dirty" if dirty else "")


def check_tools(args, lab_build):
    for tool in ("mosquitto",) + (("tcpdump",) if args.hops else ()):
        if not shutil.which(tool):
            sys.exit(f"bridge-ab: {tool} not found")
    for exe in (os.path.join(lab_build, "bench", "loadgen"), os.path.join(lab_build, "mqbridge")):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bridge-ab: {exe} missing: cmake --build build --target mqbridge loadgen")


def measure_all(lab, plan, chosen, args, loads):
    """Cases, then scale-out and backlog unless left out. Returns (results, scale, backlog)."""
    results, scale, drained = [], [], None
    for c in chosen:
        print(f"case {c.name}: {c.count} messages, loadgen window {c.window}, "
              f"max_inflight_messages {c.inflight}"
              + (" (A has no shared subscriptions: one native bridge connection)"
                 if c.shared else ""), flush=True)
        results.append(measure.run_case(lab, plan, c))
        loads.append(measure.loadavg())
    if not args.no_scale:
        print("scale-out: route rateLimit messagesPerSecond 100 per client, shared "
              "subscription N clients, QoS 1", flush=True)
        scale = scaleout.scale_out(lab, plan)
        loads.append(measure.loadavg())
    if not args.no_backlog:
        drained = backlog.backlog(lab, plan.backlog_count)
    return results, scale, drained


def main(argv=None):
    args = parse_args(argv)
    plan = cases.plan(args.quick, args.reps, args.lat_reps, args.backlog_count, args.hops)
    chosen = cases.select(args.cases.split(",") if args.cases else [], args.quick)
    check_tools(args, os.path.abspath(args.build))
    lab = procs.Lab(args.build)
    commit = commit_id()
    print(f"bridge-ab: commit {commit}, A = the local mosquitto broker itself with a `connection` "
          f"bridge block (bridge_protocol_version mqttv50, topic bench/# out <qos>); B = "
          f"build/mqbridge run, one local-to-remote route; load average "
          f"{measure.loadavg():.1f}; work dir {lab.work}", flush=True)
    loads = [measure.loadavg()]
    t0 = time.time()
    try:
        if args.callgrind:
            callgrind.profile(lab, args.callgrind, args.qos, args.size, args.callgrind_dir)
            return
        results, scale, drained = measure_all(lab, plan, chosen, args, loads)
    finally:
        if not args.keep:
            shutil.rmtree(lab.work, ignore_errors=True)
    md = (report.report(results, scale, drained, plan.reps, loads, commit)
          if results or scale else "")
    print()
    print(md)
    print(f"\nbridge-ab: {time.time() - t0:.0f} s")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md + "\n")
    if results and args.plot:
        report.plot(results, args.plot)

"""The report of a run: markdown tables (printed, and written by --markdown) and the plot.

bench/RESULTS.md quotes these tables as printed, so their columns are part of the contract:
a column changes together with the section of RESULTS.md that explains it.
"""

import os
import shutil
import statistics
import subprocess
import tempfile
import time


def spread(v):
    return f"{min(v):,.0f}-{max(v):,.0f}"


def latcell(runs):
    """Median p50 / median p99 over the latency repetitions, and the p99s' spread."""
    p50 = statistics.median(r.get("p50_us", 0) for r in runs)
    p99 = [r.get("p99_us", 0) for r in runs]
    cell = f"{p50:.0f}/{statistics.median(p99):.0f}"
    return cell + (f" ({min(p99):.0f}-{max(p99):.0f})" if len(p99) > 1 else "")


def case_row(r):
    """One case's row of the main table."""
    c = r["case"]
    ra, rb = r["runs"]["A"], r["runs"]["B"]
    va = [x.get("rate", 0) for x in ra]
    vb = [x.get("rate", 0) for x in rb]
    ma, mb = r["median"]["A"], r["median"]["B"]
    loss = (f"{sum(x.get('lost', 0) for x in ra):.0f}/{sum(x.get('lost', 0) for x in rb):.0f}"
            if c.qos == 1 else "n/a")
    lat = r["lat"]
    med = statistics.median
    return (f"| {c.name} | {ma:,.0f} ({spread(va)}) | {mb:,.0f} ({spread(vb)}) | "
            f"{mb / ma if ma else 0:.2f} | {loss} | {r['lat_rate']:,.0f} | "
            f"{latcell(lat['direct'])} | {latcell(lat['A'])} | {latcell(lat['B'])} | "
            f"{med([x['bridge_cpu_100k'] for x in ra]):.2f} | "
            f"{med([x['bridge_cpu_100k'] for x in rb]):.2f} | "
            f"{med([x['local_cpu_100k'] for x in rb]):.2f} | "
            f"{max(x['bridge_hwm_mib'] for x in ra):.1f} / "
            f"{max(x['bridge_hwm_mib'] for x in rb):.1f} | "
            f"{min(x['load'] for x in ra + rb):.1f}-{max(x['load'] for x in ra + rb):.1f} |")


def cases_table(results, reps, loads, commit):
    lines = [f"Commit `{commit}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{reps} repetitions per mode, load average during the run "
             f"{min(loads):.1f}-{max(loads):.1f} (2 vCPUs).",
             "",
             "| case | A msg/s median (min-max) | B msg/s median (min-max) | B/A | "
             "QoS1 loss A/B | lat. rate | p50/p99 direct µs (p99 min-max) | p50/p99 A µs | "
             "p50/p99 B µs | "
             "CPU s/100k A (local broker+bridge) | CPU s/100k B (mqbridge) | "
             "CPU s/100k local broker in B | RSS MiB A / B | load |",
             "|" + "---|" * 14]
    return lines + [case_row(r) for r in results]


def hop_cell(v):
    return f"{v[0]:.0f}/{v[1]:.0f} ({v[2]:.0f})" if v else "n/a (inside the local broker)"


def hops_table(results):
    """The --hops table, or nothing when no run was captured."""
    captured = [(r, m, r["hops"][m]) for r in results for m in ("A", "B")
                if r.get("hops", {}).get(m)]
    if not captured:
        return []
    lines = ["",
             "Where the time goes, hop by hop (`--hops`: one more run per mode at the "
             "latency rate with both brokers' loopback traffic captured; first sight of "
             "each PUBLISH on each connection, the first second left out; the capture "
             "adds load of its own):",
             "",
             "| case | mode | messages | loadgen p50/p99 µs | on the wire p50/p99 (max) "
             "µs | local broker p50/p99 (max) µs | mqbridge p50/p99 (max) µs | "
             "remote broker p50/p99 (max) µs | slowest 1 % on the wire: mean µs "
             "local / bridge / remote | packets dropped |",
             "|" + "---|" * 10]
    for r, m, h in captured:
        hp = h["hops"]
        loc = hp.get("local broker") or hp.get("local broker + native bridge")
        mqb = hp.get("mqbridge")
        rem = hp.get("remote broker")
        share = " / ".join(f"{v[3]:.0f}" if v else "-" for v in (loc, mqb, rem))
        lines.append(f"| {r['case'].name} | {m} | {h['n']:,} | "
                     f"{h['p50_us']:.0f}/{h['p99_us']:.0f} | "
                     f"{h['total'][0]:.0f}/{h['total'][1]:.0f} ({h['total'][2]:.0f}) | "
                     f"{hop_cell(loc)} | {hop_cell(mqb)} | {hop_cell(rem)} | "
                     f"{share} | {h['dropped']} |")
    return lines


def scale_table(scale):
    if not scale:
        return []
    lines = ["",
             "| scale-out N (100 msg/s per client) | msg/s (2nd half) | target | deviation "
             "| msg/s incl. initial burst | received | load |",
             "|---|---|---|---|---|---|---|"]
    for s in scale:
        lines.append(f"| {s['n']} | {s['rate']:.1f} | {s['target']} | "
                     f"{100 * s['rate'] / s['target'] - 100:+.1f} % | {s['whole']:.1f} | "
                     f"{s['received']:.0f}/{s['count']} | {s['load']:.1f} |")
    return lines


def backlog_text(b):
    if not b:
        return ("Backlog: not measured in this run (`--no-backlog`, or a build without "
                "the spool).")
    return (f"Backlog: {b['count']:,} messages spooled during the outage, "
            f"{b['received']:,.0f} received, drained in {b['drain_s']:.1f} s "
            f"= {b['rate']:,.0f} msg/s from the remote's return "
            f"({b['flow']:,.0f} msg/s first to last arrival), "
            f"duplicates {b['dup']}; the remote mosquitto used "
            f"{b['remote_cpu_s']:.1f} CPU s ("
            f"{100 * b['remote_cpu_s'] / b['drain_s']:.0f} % of one core). "
            f"The same backlog into bench/ackserver (a "
            f"remote that only acknowledges, Receive Maximum 100): "
            f"{b['ack_received']:,.0f} acknowledged, "
            f"{b['ack_flow']:,.0f} msg/s first to last PUBLISH "
            f"({b['ack_drain_s']:.2f} s from its start, with the bridge's "
            f"reconnect), mqbridge CPU {b['ack_cpu']:.2f} s per 100k.")


def report(results, scale, backlog, reps, loads, commit):
    """The whole markdown report: cases table, hops table, scale-out table, backlog line."""
    lines = cases_table(results, reps, loads, commit)
    lines += hops_table(results)
    lines += scale_table(scale)
    lines += ["", backlog_text(backlog)]
    return "\n".join(lines)


def plot(results, png):
    """A bar chart of msg/s per case (median, min-max bars), A against B, drawn by gnuplot."""
    if not shutil.which("gnuplot"):
        print("plot: gnuplot not found (install gnuplot-nox)")
        return
    with tempfile.TemporaryDirectory(prefix="bridge-ab-plot-") as tmp:
        dat = os.path.join(tmp, "plot.dat")
        with open(dat, "w") as f:
            for r in results:
                va = [x.get("rate", 0) for x in r["runs"]["A"]]
                vb = [x.get("rate", 0) for x in r["runs"]["B"]]
                f.write(f"\"{r['case'].name}\" {r['median']['A']:.0f} {min(va):.0f} "
                        f"{max(va):.0f} {r['median']['B']:.0f} {min(vb):.0f} {max(vb):.0f}\n")
        gp = gnuplot_script(dat, png)
        r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if r.returncode != 0:  # gnuplot without cairo
            gp = gp.replace("pngcairo", "png")
            r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    print(f"plot: {png}" if r.returncode == 0 else f"plot failed: {r.stderr}")


def gnuplot_script(dat, png):
    return f"""set terminal pngcairo size 900,480 noenhanced
set output '{png}'
set title 'Forwarded msg/s per case (median, bars = min-max): A mosquitto native bridge, B mqbridge'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set ylabel 'msg/s'
set yrange [0:*]
set grid ytics
set key top right
plot '{dat}' using 2:3:4:xtic(1) title 'A mosquitto bridge' lc rgb '#4477aa', \\
     '' using 5:6:7 title 'B mqbridge' lc rgb '#ee6677'
"""

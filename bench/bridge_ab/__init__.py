"""bench/bridge-ab as a package: mosquitto's native bridge (A) against mqbridge (B).

  cases      what is measured, as data: the cases, scale-out, backlog, repetitions
  procs      brokers and mqbridge on free loopback ports, their configuration files
  loadgen    runs of build/bench/loadgen, and each mode's warmed-up path
  measure    throughput, CPU, RSS and latency of one case in each mode
  hops       --hops: per-hop latency from a loopback capture
  scaleout   B's rate limit per client against N shared-subscription clients
  backlog    a spooled backlog drained into mosquitto and into bench/ackserver
  callgrind  --callgrind: instructions per forwarded message
  report     the markdown tables and the plot
  cli        the command line and the order of a run

Python 3.11 standard library only. Entry point: bench/bridge-ab.
"""

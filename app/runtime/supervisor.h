#pragma once
// `mqbridge run --spawn-instances`: the instances of a multi-instance configuration as child
// processes on one host, for when there is no orchestrator (Kubernetes runs one pod per instance
// instead): one process per instance spreads the routes of a host's instances over its cores,
// and a crash takes one instance down, not all.
//
// Child i runs `<self> run <same options> --instance-index i --metrics-address HOST:(PORT+i)
// --state-dir <state-dir>/<i>`. A child that exits or crashes is restarted after a backoff
// (1 s, doubling to 30 s; back to 1 s once it ran 60 s). SIGTERM/SIGINT are forwarded to every
// child, nothing is restarted any more, and the supervisor exits when all children have exited
// (status 0 if every one exited 0). SIGHUP is forwarded (reload).

#include <chrono>
#include <string>
#include <vector>

#include "app/runtime/options.h"

namespace mqb::app {

struct SupervisorOptions {
  int instances = 1;
  std::chrono::milliseconds minBackoff{1000};
  std::chrono::milliseconds maxBackoff{30000};
  std::chrono::milliseconds stableAfter{60000};
};

/// The command line of instance `i` (without the program name).
std::vector<std::string> instanceArgs(const RunOptions& o, int i);

/// Runs the children until SIGTERM/SIGINT; returns the exit code.
int superviseInstances(const RunOptions& o, const SupervisorOptions& s);

}  // namespace mqb::app

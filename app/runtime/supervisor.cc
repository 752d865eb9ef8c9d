#include "app/app_supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common/log.h"

namespace mqb::app {
namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  int index = 0;
  pid_t pid = -1;
  Clock::time_point startedAt{};
  Clock::time_point restartAt{};
  std::chrono::milliseconds backoff{0};
  int lastStatus = 0;
  int restarts = 0;
};

std::string selfExe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("mqbridge") : p.string();
}

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const sigset_t& oldMask) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the supervisor vanished: drain and exit
    ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

std::vector<std::string> instanceArgs(const RunOptions& o, int i) {
  std::vector<std::string> a{"run"};
  for (const auto& p : o.config.configPaths) {
    a.insert(a.end(), {"--config", p});
  }
  // HOST:PORT -> HOST:(PORT+i); port 0 stays 0 (any free port).
  std::string metrics = o.metricsAddress;
  if (const auto colon = metrics.rfind(':'); colon != std::string::npos) {
    const int port = std::atoi(metrics.c_str() + colon + 1);
    metrics = metrics.substr(0, colon + 1) + std::to_string(port == 0 ? 0 : port + i);
  }
  a.insert(a.end(), {"--secrets-dir", o.config.secretsDir, "--configmaps-dir",
                     o.config.configmapsDir, "--sa-token-file", o.config.saTokenFile,
                     "--arc-key-dir", o.config.arcKeyDir, "--metrics-address", metrics,
                     "--state-dir", o.stateDir + "/" + std::to_string(i), "--drain-seconds",
                     std::to_string(o.drainSeconds), "--instance-index", std::to_string(i)});
  if (o.logLevel) {
    a.insert(a.end(), {"--log-level", *o.logLevel});
  }
  if (o.logJson) {
    a.emplace_back("--log-json");
  }
  return a;
}

int superviseInstances(const RunOptions& o, const SupervisorOptions& s) {
  sigset_t set, oldMask;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, &oldMask);
  const std::string exe = selfExe();
  std::vector<Child> children(static_cast<std::size_t>(s.instances));
  for (int i = 0; i < s.instances; ++i) {
    children[static_cast<std::size_t>(i)].index = i;
    children[static_cast<std::size_t>(i)].backoff = s.minBackoff;
  }
  auto start = [&](Child& c) {
    c.pid = spawn(exe, instanceArgs(o, c.index), oldMask);
    c.startedAt = Clock::now();
    if (c.pid < 0) {
      log::error("instance_spawn_failed", {{"instance", c.index}});
      c.restartAt = Clock::now() + c.backoff;
      return;
    }
    log::info("instance_started",
              {{"instance", c.index}, {"pid", static_cast<long>(c.pid)}, {"restarts", c.restarts}});
  };
  log::info("supervisor_starting", {{"instances", s.instances}, {"binary", exe}});
  for (auto& c : children) {
    start(c);
  }
  bool stopping = false;
  bool allZero = true;
  for (;;) {
    // Reap.
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        break;
      }
      auto it = std::find_if(children.begin(), children.end(),
                             [pid](const Child& c) { return c.pid == pid; });
      if (it == children.end()) {
        continue;
      }
      Child& c = *it;
      c.pid = -1;
      const bool signalled = WIFSIGNALED(status);
      c.lastStatus = signalled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      if (stopping) {
        allZero = allZero && c.lastStatus == 0;
        log::info("instance_exited", {{"instance", c.index}, {"status", c.lastStatus}});
        continue;
      }
      if (Clock::now() - c.startedAt >= s.stableAfter) {
        c.backoff = s.minBackoff;
      }
      c.restartAt = Clock::now() + c.backoff;
      log::warn("instance_exited", {{"instance", c.index},
                                    {"status", c.lastStatus},
                                    {"signal", signalled ? WTERMSIG(status) : 0},
                                    {"restart_in_ms", static_cast<long>(c.backoff.count())}});
      c.backoff = std::min(c.backoff * 2, s.maxBackoff);
    }
    if (stopping) {
      if (std::none_of(children.begin(), children.end(),
                       [](const Child& c) { return c.pid > 0; })) {
        break;
      }
    } else {
      for (auto& c : children) {
        if (c.pid < 0 && Clock::now() >= c.restartAt) {
          ++c.restarts;
          start(c);
        }
      }
    }
    timespec timeout{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !stopping) {
      if (sig != SIGHUP) {
        stopping = true;
        log::info("supervisor_stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      }
      for (const auto& c : children) {
        if (c.pid > 0) {
          ::kill(c.pid, sig);
        }
      }
    }
  }
  log::info("supervisor_stopped", {{"all_clean", allZero ? "true" : "false"}});
  return allZero ? 0 : 1;
}

}  // namespace mqb::app

#include "app/runtime/supervisor.h"

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

namespace {

/// The children and what is known of them; runs on the thread that called superviseInstances.
class Supervisor {
 public:
  Supervisor(const RunOptions& o, const SupervisorOptions& s, const sigset_t& oldMask)
      : o_(o),
        s_(s),
        oldMask_(oldMask),
        exe_(selfExe()),
        children_(static_cast<std::size_t>(s.instances)) {
    for (int i = 0; i < s.instances; ++i) {
      children_[static_cast<std::size_t>(i)].index = i;
      children_[static_cast<std::size_t>(i)].backoff = s.minBackoff;
    }
  }

  void startAll() {
    log::info("supervisor_starting", {{"instances", s_.instances}, {"binary", exe_}});
    for (auto& c : children_) {
      start(c);
    }
  }

  /// Collects every exited child; schedules its restart unless stopping.
  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        return;
      }
      auto it = std::find_if(children_.begin(), children_.end(),
                             [pid](const Child& c) { return c.pid == pid; });
      if (it != children_.end()) {
        exited(*it, status);
      }
    }
  }

  void restartDue() {
    for (auto& c : children_) {
      if (c.pid < 0 && Clock::now() >= c.restartAt) {
        ++c.restarts;
        start(c);
      }
    }
  }

  /// Forwards SIGTERM, SIGINT (then stops restarting) and SIGHUP to every child.
  void forward(int sig) {
    if (sig != SIGHUP) {
      stopping_ = true;
      log::info("supervisor_stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    }
    for (const auto& c : children_) {
      if (c.pid > 0) {
        ::kill(c.pid, sig);
      }
    }
  }

  bool stopping() const noexcept { return stopping_; }
  bool anyRunning() const {
    return std::any_of(children_.begin(), children_.end(),
                       [](const Child& c) { return c.pid > 0; });
  }
  bool allClean() const noexcept { return allZero_; }

 private:
  void start(Child& c) {
    c.pid = spawn(exe_, instanceArgs(o_, c.index), oldMask_);
    c.startedAt = Clock::now();
    if (c.pid < 0) {
      log::error("instance_spawn_failed", {{"instance", c.index}});
      c.restartAt = Clock::now() + c.backoff;
      return;
    }
    log::info("instance_started",
              {{"instance", c.index}, {"pid", static_cast<long>(c.pid)}, {"restarts", c.restarts}});
  }

  void exited(Child& c, int status) {
    c.pid = -1;
    const bool signalled = WIFSIGNALED(status);
    c.lastStatus = signalled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    if (stopping_) {
      allZero_ = allZero_ && c.lastStatus == 0;
      log::info("instance_exited", {{"instance", c.index}, {"status", c.lastStatus}});
      return;
    }
    if (Clock::now() - c.startedAt >= s_.stableAfter) {
      c.backoff = s_.minBackoff;
    }
    c.restartAt = Clock::now() + c.backoff;
    log::warn("instance_exited", {{"instance", c.index},
                                  {"status", c.lastStatus},
                                  {"signal", signalled ? WTERMSIG(status) : 0},
                                  {"restart_in_ms", static_cast<long>(c.backoff.count())}});
    c.backoff = std::min(c.backoff * 2, s_.maxBackoff);
  }

  const RunOptions& o_;
  const SupervisorOptions& s_;
  const sigset_t& oldMask_;
  const std::string exe_;
  std::vector<Child> children_;
  bool stopping_ = false;
  bool allZero_ = true;
};

}  // namespace

int superviseInstances(const RunOptions& o, const SupervisorOptions& s) {
  sigset_t set, oldMask;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, &oldMask);
  Supervisor sup(o, s, oldMask);
  sup.startAll();
  for (;;) {
    sup.reap();
    if (sup.stopping() && !sup.anyRunning()) {
      break;
    }
    if (!sup.stopping()) {
      sup.restartDue();
    }
    timespec timeout{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !sup.stopping()) {
      sup.forward(sig);
    }
  }
  log::info("supervisor_stopped", {{"all_clean", sup.allClean() ? "true" : "false"}});
  return sup.allClean() ? 0 : 1;
}

}  // namespace mqb::app

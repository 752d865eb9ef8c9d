#pragma once
// A child process for tests: fork + execve of a program with the parent's environment (plus
// NAME=VALUE overrides), stdout and stderr appended to a log file, signals, and bounded waits
// that reap it. The bridge binary is started through BridgeRunner (bridge_runner.h), which
// builds on this; use ChildProcess directly for stand-in servers and other programs.
//
//   ChildProcess p("/usr/bin/python3", {script, "--port-file", f}, dir.file("server.log"));
//   ASSERT_TRUE(p.start());
//   p.signal(SIGTERM);
//   EXPECT_EQ(p.wait(5s), 0);

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mqb::test {

class ChildProcess {
 public:
  /// `args` do not include the program. `logFile`: where stdout and stderr go, appended ("" = a
  /// file in a private temp dir, see logPath()). `env`: NAME=VALUE entries that override the
  /// inherited variables of the same name.
  ChildProcess(std::string program, std::vector<std::string> args, std::string logFile = "",
               std::vector<std::string> env = {});
  /// SIGKILL and reap if still running; removes the private temp dir.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// fork + execve. False if it is already running or the log file or fork failed.
  bool start();
  void signal(int sig) const;
  /// SIGKILL and reap.
  void kill();
  /// Waits up to `timeout` for the exit and reaps it; the exit status (128+signal if killed by
  /// one), or nullopt if it still runs (or never started).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// True while started and not exited (reaps it if it has exited).
  bool running();
  /// True if it was started and has exited, without reaping it.
  bool exited() const;
  /// The exit status of the last run once reaped (128+signal if killed by one).
  std::optional<int> exitStatus() const noexcept { return exitStatus_; }
  pid_t pid() const noexcept { return pid_; }
  const std::string& logPath() const noexcept { return log_; }
  std::string logText() const;

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::string log_;
  std::vector<std::string> env_;
  std::string ownDir_;
  pid_t pid_ = -1;
  std::optional<int> exitStatus_;
};

}  // namespace mqb::test

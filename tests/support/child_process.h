#pragma once
// A `mqbridge` child process for integration tests: started with fork/exec from the build dir,
// stdout and stderr to a log file, stopped with a signal and reaped with a bounded wait.
//
//   ChildProcess p({"run", "-c", cfg, "--metrics-address", "127.0.0.1:" + std::to_string(port)});
//   ASSERT_TRUE(p.start());
//   p.signal(SIGKILL);
//   p.wait(5s);

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/bridge_process.h"  // mqbridgeBinary()

namespace mqb::test {

class ChildProcess {
 public:
  /// `args` do not include the program name. `logFile`: where stdout and stderr go ("" = a file
  /// in a private temp dir, see logPath()).
  explicit ChildProcess(std::vector<std::string> args, std::string logFile = "",
                        std::vector<std::string> extraEnv = {});
  /// SIGKILL if still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Runs `program` instead of mqbridge (e.g. /usr/bin/python3 for a stand-in server).
  void setProgram(std::string program) { program_ = std::move(program); }
  /// fork + exec. False if fork failed.
  bool start();
  void signal(int sig) const;
  /// Waits up to `timeout` for the exit; returns the exit status (128+signal if killed) or
  /// nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running() const noexcept { return pid_ > 0; }
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
};

/// Runs `mqbridge args...` to completion (bounded by `timeout`), returns its stdout; `status`
/// gets the exit status (-1 on timeout).
std::string runMqbridge(const std::vector<std::string>& args, int& status,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace mqb::test

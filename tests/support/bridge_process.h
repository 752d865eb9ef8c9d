#pragma once
// `mqbridge run` as a child process, for fault-injection tests: writes the configuration YAML,
// picks a free loopback metrics port, starts <build>/mqbridge with its own state dir,
// waits for /healthz or /readyz, and kills (SIGKILL), stops (SIGTERM) or restarts it with the
// same state dir. The child's stdout/stderr go to <dir>/bridge.log (appended across restarts).
//
//   BridgeProcess bridge(yaml);
//   ASSERT_TRUE(bridge.start());            // waits for /readyz
//   bridge.kill();  ASSERT_TRUE(bridge.start());
//   EXPECT_EQ(bridge.terminate(), 0);       // SIGTERM, exit code

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/wait.h"

namespace mqb::test {

class BridgeProcess {
 public:
  /// `configYaml` is written to <dir>/bridge.yaml. The state dir is <dir>/state unless given.
  explicit BridgeProcess(std::string configYaml, std::string stateDir = "");
  ~BridgeProcess();  ///< SIGKILL if still running
  BridgeProcess(const BridgeProcess&) = delete;
  BridgeProcess& operator=(const BridgeProcess&) = delete;

  /// Starts the binary and waits (bounded) until /readyz answers 200 (`waitReady`), or only
  /// /healthz (e.g. when a broker is down on purpose). False (see log()) on failure.
  bool start(bool waitReady = true, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// SIGKILL and reap.
  void kill();
  /// SIGTERM; waits up to `timeout` for the exit and returns the exit code (-1: killed after the
  /// timeout, or not running).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// SIGHUP (reload).
  void hangup();
  /// Rewrites the configuration file (the bridge reloads on SIGHUP or when it notices the change).
  void writeConfig(const std::string& yaml);
  bool running() const noexcept { return pid_ > 0; }
  /// True while the child has not exited (reaps it if it has).
  bool alive();

  /// GET /metrics body ("" on failure).
  std::string metrics() const;
  /// Sum of every sample of `name` whose label text contains each of `labels` (e.g.
  /// `reason="overflow"`); 0 if none.
  double metric(const std::string& name, const std::vector<std::string>& labels = {}) const;

  int metricsPort() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  const std::string& stateDir() const noexcept { return stateDir_; }
  const std::string& configPath() const noexcept { return configPath_; }
  std::string log() const;
  /// Extra command-line arguments for the next start() (e.g. {"--drain-seconds", "2"}).
  std::vector<std::string> extraArgs;

 private:
  TempDir dir_{"mqb-bridge"};
  std::string configPath_;
  std::string stateDir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

/// Path of the mqbridge binary: $MQB_BINARY_DIR/mqbridge if that variable is set, else the build
/// tree's.
std::string mqbridgeBinary();

}  // namespace mqb::test

#pragma once
// The real `mqbridge run` binary for end-to-end tests: writes spec-format config YAML into a
// private temp dir, starts <build>/mqbridge on a free loopback metrics port, waits (bounded) for
// /readyz, reads /metrics, and stops it with SIGTERM. Also runs `mqbridge validate` on the same
// config. Loopback only.
//
//   BridgeRunner bridge;
//   bridge.writeConfig("bridge.yaml", yaml);
//   ASSERT_TRUE(bridge.start()) << bridge.log();
//   ... publish and check ...
//   EXPECT_EQ(bridge.stop(), 0);

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/wait.h"

namespace mqb::test {

struct BridgeRunnerOptions {
  std::string secretsDir;              ///< --secrets-dir ("" = <dir>/secrets)
  std::string configmapsDir;           ///< --configmaps-dir ("" = <dir>/configmaps)
  std::string saTokenFile;             ///< --sa-token-file ("" = <dir>/sa-token)
  std::string logLevel;                ///< --log-level ("" = the config's)
  std::vector<std::string> env;        ///< extra NAME=VALUE for the child's environment
  std::vector<std::string> extraArgs;  ///< appended to the `run` command line
};

class BridgeRunner {
 public:
  explicit BridgeRunner(BridgeRunnerOptions options = {});
  /// SIGKILLs the process if it still runs; removes the temp dir.
  ~BridgeRunner();
  BridgeRunner(const BridgeRunner&) = delete;
  BridgeRunner& operator=(const BridgeRunner&) = delete;

  /// Writes <dir>/config/<name> (the directory given to `-c`); returns its path.
  std::string writeConfig(const std::string& name, const std::string& yaml) const;
  /// The private temp dir (config/, secrets/, configmaps/, state/, bridge.log).
  const TempDir& dir() const noexcept { return dir_; }
  std::string secretsDir() const;
  std::string configmapsDir() const;
  std::string saTokenFile() const;
  BridgeRunnerOptions& options() noexcept { return options_; }

  /// Spawns `mqbridge run` (stdout and stderr to <dir>/bridge.log). Does not wait.
  bool spawn();
  /// spawn() and wait until /readyz answers 200 (false on timeout or if the process exits).
  bool start(std::chrono::milliseconds readyTimeout = std::chrono::seconds(15));
  /// Waits until /readyz answers 200.
  bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(15)) const;
  /// SIGTERM and wait (bounded; SIGKILL after `timeout`). Returns the exit status, 128+signal if
  /// killed by a signal, -1 if it was not running.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool running();
  pid_t pid() const noexcept { return pid_; }

  int metricsPort() const noexcept { return metricsPort_; }
  std::string log() const;
  /// The /metrics body ("" if it did not answer).
  std::string metrics() const;
  /// Sum of every sample of metric `name` whose label set contains each of `labels`
  /// (e.g. {"route=\"r1\"", "client=\"pub-0\""}); 0 if none.
  double metric(const std::string& name, const std::vector<std::string>& labels = {}) const;

  /// Runs `mqbridge validate -c <dir>/config` (plus `extraArgs`) and returns its stdout; the exit
  /// status in `rc` if given.
  std::string validate(const std::vector<std::string>& extraArgs = {}, int* rc = nullptr) const;
  /// The client IDs `mqbridge validate` prints (every "client IDs:" line), in order.
  std::vector<std::string> validatedClientIds() const;

  /// <build>/mqbridge.
  static std::string binary();

 private:
  std::vector<std::string> configArgs() const;

  BridgeRunnerOptions options_;
  TempDir dir_{"mqb-bridge"};
  pid_t pid_ = -1;
  int metricsPort_ = 0;
  std::optional<int> exitStatus_;
};

}  // namespace mqb::test

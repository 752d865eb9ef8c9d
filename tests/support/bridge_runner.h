#pragma once
// The real `mqbridge run` binary as a child process, for end-to-end, instance and fault tests:
// writes spec-format config YAML into a private temp dir (passed with `-c`), starts
// <build>/mqbridge on a loopback metrics port with its own state dir, waits (bounded) for
// /readyz or /healthz, reads /metrics, and stops (SIGTERM), kills (SIGKILL) or restarts it with
// the same state dir. stdout and stderr go to <dir>/bridge.log, appended across restarts. Also
// runs `mqbridge validate` on the same config. Loopback only.
//
//   BridgeRunner bridge;
//   bridge.writeConfig("bridge.yaml", yaml);
//   ASSERT_TRUE(bridge.start()) << bridge.log();
//   ... publish and check; bridge.metric("mqbridge_messages_forwarded_total", {"route=\"r\""}) ...
//   bridge.kill();  ASSERT_TRUE(bridge.start());   // same state dir
//   EXPECT_EQ(bridge.stop(), 0);

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/wait.h"

namespace mqb::test {

struct BridgeRunnerOptions {
  /// The configuration arguments. Empty: `-c <dir>/config --secrets-dir .. --configmaps-dir ..
  /// --sa-token-file ..` (the three below). Else exactly these (e.g. `--kube ...`).
  std::vector<std::string> configArgs;
  std::string secretsDir;              ///< --secrets-dir ("" = <dir>/secrets)
  std::string configmapsDir;           ///< --configmaps-dir ("" = <dir>/configmaps)
  std::string saTokenFile;             ///< --sa-token-file ("" = <dir>/sa-token)
  std::string stateDir;                ///< --state-dir ("" = <dir>/state)
  std::string drainSeconds = "2";      ///< --drain-seconds ("" = not passed: the binary's default)
  int metricsPort = 0;                 ///< 127.0.0.1 port of --metrics-address (0 = a free one)
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

  /// Writes <dir>/config/<name> (the directory given to `-c`); returns its path. Rewriting a file
  /// while the bridge runs is how tests change its configuration (it reloads on SIGHUP or when
  /// it notices the change).
  std::string writeConfig(const std::string& name, const std::string& yaml) const;
  /// The private temp dir (config/, secrets/, configmaps/, state/, bridge.log).
  const TempDir& dir() const noexcept { return dir_; }
  std::string configDir() const { return dir_.file("config"); }
  std::string secretsDir() const;
  std::string configmapsDir() const;
  std::string saTokenFile() const;
  std::string stateDir() const;
  /// Read at every spawn(): changes apply to the next start.
  BridgeRunnerOptions& options() noexcept { return options_; }

  /// Spawns `mqbridge run`. Does not wait. False if it already runs or the spawn failed.
  bool spawn();
  /// spawn() and wait until /readyz answers 200 (false on timeout or if the process exits).
  bool start(std::chrono::milliseconds readyTimeout = std::chrono::seconds(20));
  /// Waits until /readyz answers 200; false on timeout or once the process has exited.
  bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  /// Waits until /healthz answers 200 (alive, not necessarily connected).
  bool waitHealthy(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  /// SIGTERM and wait (bounded; SIGKILL after `timeout`). Returns the exit status, 128+signal if
  /// killed by a signal, -1 if it never ran.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// SIGKILL and reap (no drain, no clean disconnect).
  void kill();
  /// Sends `sig` (e.g. SIGHUP: reload) if it runs.
  void signal(int sig) const;
  /// Waits up to `timeout` for an exit (after signal()); its status, or nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// True while it runs (reaps it if it has exited).
  bool running();
  pid_t pid() const noexcept;

  int metricsPort() const noexcept { return metricsPort_; }
  std::string log() const;
  /// The /metrics body ("" if it did not answer).
  std::string metrics() const;
  /// Sum of every sample of metric `name` whose labels include each selector `label="value"`
  /// (e.g. {"route=\"r1\"", "client=\"pub-0\""}); 0 if none (PrometheusText::sum).
  double metric(const std::string& name, const std::vector<std::string>& selectors = {}) const;

  /// Runs `mqbridge validate` with the same configuration arguments (plus `extraArgs`) and
  /// returns its output; the exit status in `rc` if given.
  std::string validate(const std::vector<std::string>& extraArgs = {}, int* rc = nullptr) const;
  /// The client IDs `mqbridge validate` prints (every "client IDs:" line), in order.
  std::vector<std::string> validatedClientIds() const;
  /// The status publishers' client IDs `mqbridge validate` prints ("status client IDs:").
  std::vector<std::string> validatedStatusClientIds() const;

 private:
  std::vector<std::string> configArgs() const;
  bool waitStatus(const char* path, std::chrono::milliseconds timeout) const;

  BridgeRunnerOptions options_;
  TempDir dir_{"mqb-bridge"};
  int metricsPort_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

/// Path of the mqbridge binary: $MQB_BINARY_DIR/mqbridge if that variable is set (e.g. to test
/// an installed binary), else the build tree's.
std::string mqbridgeBinary();

/// Runs `mqbridge args...` to completion (bounded by `timeout`) and returns its output (stdout
/// and stderr); `status` gets the exit status (-1 on timeout).
std::string runMqbridge(const std::vector<std::string>& args, int& status,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace mqb::test

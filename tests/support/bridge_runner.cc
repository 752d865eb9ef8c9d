#include "tests/support/bridge_runner.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tests/support/http_get.h"

namespace mqb::test {
namespace {

namespace fs = std::filesystem;

/// The words after `key` on every line that has it and does not have `unless`.
std::vector<std::string> wordsAfter(const std::string& text, const std::string& key,
                                    const std::string& unless = "") {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    const auto at = line.find(key);
    if (at == std::string::npos || (!unless.empty() && line.find(unless) != std::string::npos)) {
      continue;
    }
    std::istringstream words(line.substr(at + key.size()));
    std::string w;
    while (words >> w) {
      out.push_back(w);
    }
  }
  return out;
}

}  // namespace

std::string mqbridgeBinary() {
  // The environment wins; else the build tree's (a compile definition of the support library).
  const char* dir = std::getenv("MQB_BINARY_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : MQB_BINARY_DIR) + "/mqbridge";
}

std::string runMqbridge(const std::vector<std::string>& args, int& status,
                        std::chrono::milliseconds timeout) {
  TempDir dir("mqb-cli");
  ChildProcess p(mqbridgeBinary(), args, dir.file("out.txt"));
  status = -1;
  if (!p.start()) {
    return "";
  }
  if (auto rc = p.wait(timeout)) {
    status = *rc;
  }
  return readFile(dir.file("out.txt"));
}

BridgeRunner::BridgeRunner(BridgeRunnerOptions options) : options_(std::move(options)) {
  for (const char* d : {"config", "secrets", "configmaps", "state"}) {
    fs::create_directories(dir_.file(d));
  }
  if (!options_.stateDir.empty()) {
    fs::create_directories(options_.stateDir);
  }
  metricsPort_ = options_.metricsPort > 0 ? options_.metricsPort : freePort();
}

BridgeRunner::~BridgeRunner() = default;  // ~ChildProcess kills and reaps

std::string BridgeRunner::writeConfig(const std::string& name, const std::string& yaml) const {
  return dir_.write("config/" + name, yaml);
}

std::string BridgeRunner::secretsDir() const {
  return options_.secretsDir.empty() ? dir_.file("secrets") : options_.secretsDir;
}
std::string BridgeRunner::configmapsDir() const {
  return options_.configmapsDir.empty() ? dir_.file("configmaps") : options_.configmapsDir;
}
std::string BridgeRunner::saTokenFile() const {
  return options_.saTokenFile.empty() ? dir_.file("sa-token") : options_.saTokenFile;
}
std::string BridgeRunner::stateDir() const {
  return options_.stateDir.empty() ? dir_.file("state") : options_.stateDir;
}

std::vector<std::string> BridgeRunner::configArgs() const {
  if (!options_.configArgs.empty()) {
    return options_.configArgs;
  }
  return {"-c",
          configDir(),
          "--secrets-dir",
          secretsDir(),
          "--configmaps-dir",
          configmapsDir(),
          "--sa-token-file",
          saTokenFile()};
}

bool BridgeRunner::spawn() {
  if (running()) {
    return false;
  }
  std::vector<std::string> args{"run"};
  for (auto& a : configArgs()) {
    args.push_back(a);
  }
  args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(metricsPort_),
                           "--state-dir", stateDir()});
  if (!options_.drainSeconds.empty()) {
    args.insert(args.end(), {"--drain-seconds", options_.drainSeconds});
  }
  if (!options_.logLevel.empty()) {
    args.insert(args.end(), {"--log-level", options_.logLevel});
  }
  args.insert(args.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  process_ = std::make_unique<ChildProcess>(mqbridgeBinary(), std::move(args),
                                            dir_.file("bridge.log"), options_.env);
  return process_->start();
}

bool BridgeRunner::waitStatus(const char* path, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_ == nullptr || process_->exited()) {
      return false;
    }
    const HttpResponse r =
        httpGet(static_cast<std::uint16_t>(metricsPort_), path, std::chrono::milliseconds(500));
    if (r.status == 200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool BridgeRunner::waitReady(std::chrono::milliseconds timeout) const {
  return waitStatus("/readyz", timeout);
}

bool BridgeRunner::waitHealthy(std::chrono::milliseconds timeout) const {
  return waitStatus("/healthz", timeout);
}

bool BridgeRunner::start(std::chrono::milliseconds readyTimeout) {
  return spawn() && waitReady(readyTimeout);
}

int BridgeRunner::stop(std::chrono::milliseconds timeout) {
  if (process_ == nullptr) {
    return -1;
  }
  process_->signal(SIGTERM);
  if (!process_->wait(timeout)) {
    process_->kill();
  }
  return process_->exitStatus().value_or(-1);
}

void BridgeRunner::kill() {
  if (process_ != nullptr) {
    process_->kill();
  }
}

void BridgeRunner::signal(int sig) const {
  if (process_ != nullptr) {
    process_->signal(sig);
  }
}

std::optional<int> BridgeRunner::wait(std::chrono::milliseconds timeout) {
  return process_ != nullptr ? process_->wait(timeout) : std::nullopt;
}

bool BridgeRunner::running() { return process_ != nullptr && process_->running(); }

pid_t BridgeRunner::pid() const noexcept { return process_ != nullptr ? process_->pid() : -1; }

std::string BridgeRunner::log() const { return readFile(dir_.file("bridge.log")); }

std::string BridgeRunner::metrics() const {
  const HttpResponse r = httpGet(static_cast<std::uint16_t>(metricsPort_), "/metrics");
  return r.status == 200 ? r.body : "";
}

double BridgeRunner::metric(const std::string& name,
                            const std::vector<std::string>& selectors) const {
  return parsePrometheusText(metrics()).sum(name, selectors);
}

std::string BridgeRunner::validate(const std::vector<std::string>& extraArgs, int* rc) const {
  std::vector<std::string> args{"validate"};
  for (auto& a : configArgs()) {
    args.push_back(a);
  }
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  int status = -1;
  std::string out = runMqbridge(args, status);
  if (rc != nullptr) {
    *rc = status;
  }
  return out;
}

std::vector<std::string> BridgeRunner::validatedClientIds() const {
  return wordsAfter(validate(), "client IDs:", "status client IDs:");
}

std::vector<std::string> BridgeRunner::validatedStatusClientIds() const {
  return wordsAfter(validate(), "status client IDs:");
}

}  // namespace mqb::test

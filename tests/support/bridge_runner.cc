#include "tests/support/bridge_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tests/support/http_get.h"

extern char** environ;

namespace mqb::test {
namespace {

namespace fs = std::filesystem;

/// fork + execve with stdout/stderr to `outFile`. Everything the child needs is prepared before
/// fork (only async-signal-safe calls after it).
pid_t spawnProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const std::string& outFile) {
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  // `env` overrides inherited variables of the same name (getenv returns the first match).
  auto nameOf = [](const std::string& e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> envStrings(env.begin(), env.end());
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string inherited(*e);
    const bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
      return nameOf(x) == nameOf(inherited);
    });
    if (!overridden) {
      envStrings.push_back(inherited);
    }
  }
  std::vector<char*> envp;
  for (auto& e : envStrings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  const int fd = ::open(outFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

int statusOf(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

}  // namespace

BridgeRunner::BridgeRunner(BridgeRunnerOptions options) : options_(std::move(options)) {
  for (const char* d : {"config", "secrets", "configmaps", "state"}) {
    fs::create_directories(dir_.file(d));
  }
  metricsPort_ = freePort();
}

BridgeRunner::~BridgeRunner() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string BridgeRunner::binary() { return std::string(MQB_BINARY_DIR) + "/mqbridge"; }

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

std::vector<std::string> BridgeRunner::configArgs() const {
  return {"-c",
          dir_.file("config"),
          "--secrets-dir",
          secretsDir(),
          "--configmaps-dir",
          configmapsDir(),
          "--sa-token-file",
          saTokenFile()};
}

bool BridgeRunner::spawn() {
  if (pid_ > 0) {
    return false;
  }
  std::vector<std::string> args{binary(), "run"};
  for (auto& a : configArgs()) {
    args.push_back(a);
  }
  args.insert(args.end(), {"--metrics-address", "127.0.0.1:" + std::to_string(metricsPort_),
                           "--state-dir", dir_.file("state"), "--drain-seconds", "2"});
  if (!options_.logLevel.empty()) {
    args.insert(args.end(), {"--log-level", options_.logLevel});
  }
  args.insert(args.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  exitStatus_.reset();
  pid_ = spawnProcess(args, options_.env, dir_.file("bridge.log"));
  return pid_ > 0;
}

bool BridgeRunner::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exitStatus_ = statusOf(status);
    pid_ = -1;
    return false;
  }
  return true;
}

bool BridgeRunner::waitReady(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pid_ > 0) {
      // Peek without reaping: a zombie still answers waitid with WNOWAIT.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid_) {
        return false;  // exited
      }
    }
    const HttpResponse r = httpGet(static_cast<std::uint16_t>(metricsPort_), "/readyz",
                                   std::chrono::milliseconds(500));
    if (r.status == 200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool BridgeRunner::start(std::chrono::milliseconds readyTimeout) {
  return spawn() && waitReady(readyTimeout);
}

int BridgeRunner::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return exitStatus_.value_or(-1);
  }
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  exitStatus_ = statusOf(status);
  return *exitStatus_;
}

std::string BridgeRunner::log() const { return readFile(dir_.file("bridge.log")); }

std::string BridgeRunner::metrics() const {
  const HttpResponse r = httpGet(static_cast<std::uint16_t>(metricsPort_), "/metrics");
  return r.status == 200 ? r.body : "";
}

double BridgeRunner::metric(const std::string& name, const std::vector<std::string>& labels) const {
  std::istringstream in(metrics());
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) {
      continue;
    }
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') {
      continue;  // a longer name with this prefix
    }
    bool all = true;
    for (const auto& l : labels) {
      all = all && line.find(l) != std::string::npos;
    }
    if (all) {
      sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    }
  }
  return sum;
}

std::string BridgeRunner::validate(const std::vector<std::string>& extraArgs, int* rc) const {
  std::vector<std::string> args{binary(), "validate"};
  for (auto& a : configArgs()) {
    args.push_back(a);
  }
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  const std::string out = dir_.file("validate.out");
  fs::remove(out);
  const pid_t pid = spawnProcess(args, {}, out);
  int status = 0;
  if (pid > 0) {
    ::waitpid(pid, &status, 0);
  }
  if (rc != nullptr) {
    *rc = pid > 0 ? statusOf(status) : -1;
  }
  return readFile(out);
}

std::vector<std::string> BridgeRunner::validatedClientIds() const {
  std::istringstream in(validate());
  std::string line;
  std::vector<std::string> ids;
  const std::string key = "client IDs:";
  while (std::getline(in, line)) {
    const auto at = line.find(key);
    if (at == std::string::npos) {
      continue;
    }
    std::istringstream words(line.substr(at + key.size()));
    std::string id;
    while (words >> id) {
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace mqb::test

#include "tests/support/bridge_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tests/support/http_get.h"

namespace mqb::test {

std::string mqbridgeBinary() {
  // The environment wins (e.g. to test an installed binary); else the build tree's (a compile
  // definition of the test-support library).
  const char* dir = std::getenv("MQB_BINARY_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : MQB_BINARY_DIR) + "/mqbridge";
}

BridgeProcess::BridgeProcess(std::string configYaml, std::string stateDir)
    : stateDir_(stateDir.empty() ? dir_.file("state") : std::move(stateDir)) {
  configPath_ = dir_.write("bridge.yaml", configYaml);
  std::filesystem::create_directories(stateDir_);
  port_ = freePort();
}

BridgeProcess::~BridgeProcess() { kill(); }

void BridgeProcess::writeConfig(const std::string& yaml) { dir_.write("bridge.yaml", yaml); }

bool BridgeProcess::start(bool waitReady, std::chrono::milliseconds timeout) {
  if (pid_ > 0) {
    return false;
  }
  std::vector<std::string> args = {mqbridgeBinary(),
                                   "run",
                                   "-c",
                                   configPath_,
                                   "--state-dir",
                                   stateDir_,
                                   "--metrics-address",
                                   "127.0.0.1:" + std::to_string(port_)};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  const std::string logPath = dir_.file("bridge.log");
  const pid_t pid = fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    const int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  const auto r = waitForStatus(static_cast<std::uint16_t>(port_),
                               waitReady ? "/readyz" : "/healthz", 200, timeout);
  return r.status == 200 && alive();
}

bool BridgeProcess::alive() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void BridgeProcess::kill() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int BridgeProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  const bool exited = waitFor(
      [&] {
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        return r == pid_ || r < 0;
      },
      timeout, std::chrono::milliseconds(10));
  if (!exited) {
    kill();
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BridgeProcess::hangup() {
  if (pid_ > 0) {
    ::kill(pid_, SIGHUP);
  }
}

std::string BridgeProcess::metrics() const {
  const auto r = httpGet(static_cast<std::uint16_t>(port_), "/metrics");
  return r.status == 200 ? r.body : std::string();
}

double BridgeProcess::metric(const std::string& name,
                             const std::vector<std::string>& labels) const {
  std::istringstream in(metrics());
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) {
      continue;
    }
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') {
      continue;
    }
    bool match = true;
    for (const auto& l : labels) {
      match = match && line.find(l) != std::string::npos;
    }
    if (!match) {
      continue;
    }
    const auto sp = line.rfind(' ');
    sum += std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return sum;
}

std::string BridgeProcess::log() const { return readFile(dir_.file("bridge.log")); }

}  // namespace mqb::test

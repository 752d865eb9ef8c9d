#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/support/wait.h"

namespace mqb::test {

ChildProcess::ChildProcess(std::vector<std::string> args, std::string logFile,
                           std::vector<std::string> extraEnv)
    : args_(std::move(args)), log_(std::move(logFile)), env_(std::move(extraEnv)) {
  if (log_.empty()) {
    char tmpl[] = "/tmp/mqb-bridge-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
      ownDir_ = tmpl;
      log_ = ownDir_ + "/bridge.log";
    } else {
      log_ = "/dev/null";
    }
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (!ownDir_.empty() && std::getenv("MQB_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(ownDir_, ec);
  }
}

bool ChildProcess::start() {
  const std::string bin = program_.empty() ? mqbridgeBinary() : program_;
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (auto& a : args_) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    for (auto& e : env_) {
      ::putenv(e.data());
    }
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0) {
    ::kill(pid_, sig);
  }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  int status = 0;
  std::optional<int> result;
  waitFor(
      [&] {
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
          result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        return false;
      },
      timeout, std::chrono::milliseconds(10));
  if (result) {
    pid_ = -1;
  }
  return result;
}

std::string ChildProcess::logText() const { return readFile(log_); }

std::string runMqbridge(const std::vector<std::string>& args, int& status,
                        std::chrono::milliseconds timeout) {
  TempDir dir("mqb-cli");
  ChildProcess p(args, dir.file("out.txt"));
  status = -1;
  if (!p.start()) {
    return "";
  }
  if (auto rc = p.wait(timeout)) {
    status = *rc;
  }
  return readFile(dir.file("out.txt"));
}

}  // namespace mqb::test

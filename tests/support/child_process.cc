#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tests/support/wait.h"

extern char** environ;

namespace mqb::test {
namespace {

int statusOf(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

/// The inherited environment with `overrides` replacing variables of the same name.
std::vector<std::string> environmentWith(const std::vector<std::string>& overrides) {
  auto nameOf = [](const std::string& e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> out(overrides.begin(), overrides.end());
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string inherited(*e);
    const bool overridden = std::any_of(overrides.begin(), overrides.end(), [&](const auto& x) {
      return nameOf(x) == nameOf(inherited);
    });
    if (!overridden) {
      out.push_back(inherited);
    }
  }
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace

ChildProcess::ChildProcess(std::string program, std::vector<std::string> args, std::string logFile,
                           std::vector<std::string> env)
    : program_(std::move(program)),
      args_(std::move(args)),
      log_(std::move(logFile)),
      env_(std::move(env)) {
  if (log_.empty()) {
    char tmpl[] = "/tmp/mqb-child-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
      ownDir_ = tmpl;
      log_ = ownDir_ + "/output.log";
    } else {
      log_ = "/dev/null";
    }
  }
}

ChildProcess::~ChildProcess() {
  kill();
  if (!ownDir_.empty() && std::getenv("MQB_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(ownDir_, ec);
  }
}

bool ChildProcess::start() {
  if (pid_ > 0) {
    return false;
  }
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> argStrings{program_};
  argStrings.insert(argStrings.end(), args_.begin(), args_.end());
  std::vector<std::string> envStrings = environmentWith(env_);
  std::vector<char*> argv = pointers(argStrings);
  std::vector<char*> envp = pointers(envStrings);
  const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  if (pid < 0) {
    return false;
  }
  pid_ = pid;
  exitStatus_.reset();
  return true;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0) {
    ::kill(pid_, sig);
  }
}

void ChildProcess::kill() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exitStatus_ = statusOf(status);
  pid_ = -1;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  waitFor([&] { return !running(); }, timeout, std::chrono::milliseconds(10));
  return pid_ > 0 ? std::nullopt : exitStatus_;
}

bool ChildProcess::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || r < 0) {
    exitStatus_ = r == pid_ ? statusOf(status) : -1;
    pid_ = -1;
    return false;
  }
  return true;
}

bool ChildProcess::exited() const {
  if (pid_ <= 0) {
    return exitStatus_.has_value();
  }
  // Peek without reaping: a zombie still answers waitid with WNOWAIT.
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid_;
}

std::string ChildProcess::logText() const { return readFile(log_); }

}  // namespace mqb::test

#include "tests/support/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

namespace mqb::test {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc > 0) {
      return true;
    }
    if (rc == 0 || errno != EINTR) {
      return false;
    }
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool parse(const std::string& raw, HttpResponse& r) {
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    r.error = "no end of headers in response (" + std::to_string(raw.size()) + " bytes)";
    return false;
  }
  const auto lineEnd = raw.find("\r\n");
  const std::string status = raw.substr(0, lineEnd);
  if (status.rfind("HTTP/", 0) != 0 || status.size() < 12) {
    r.error = "bad status line: " + status;
    return false;
  }
  r.status = std::atoi(status.c_str() + status.find(' ') + 1);
  std::size_t pos = lineEnd + 2;
  while (pos < end) {
    const auto next = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, next - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[lower(line.substr(0, colon))] = value;
    }
    pos = next + 2;
  }
  r.body = raw.substr(end + 4);
  return true;
}

}  // namespace

HttpResponse httpGet(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout,
                     const std::string& host) {
  HttpResponse r;
  const auto deadline = Clock::now() + timeout;
  sockaddr_storage addr{};
  socklen_t len = 0;
  const bool v6 = host.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      r.error = "bad address " + host;
      return r;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      r.error = "bad address " + host;
      return r;
    }
    len = sizeof(sockaddr_in);
  }
  Fd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    r.error = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS || !waitFor(fd.get(), POLLOUT, deadline)) {
      r.error =
          std::string("connect: ") + (errno == EINPROGRESS ? "timeout" : std::strerror(errno));
      return r;
    }
    int err = 0;
    socklen_t errLen = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &errLen);
    if (err != 0) {
      r.error = std::string("connect: ") + std::strerror(err);
      return r;
    }
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + ":" +
                          std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    if (!waitFor(fd.get(), POLLOUT, deadline)) {
      r.error = "send: timeout";
      return r;
    }
    const ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      r.error = std::string("send: ") + std::strerror(errno);
      return r;
    }
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    if (!waitFor(fd.get(), POLLIN, deadline)) {
      r.error = "recv: timeout after " + std::to_string(raw.size()) + " bytes";
      return r;
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      r.error = std::string("recv: ") + std::strerror(errno);
      return r;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  if (!parse(raw, r)) {
    r.status = 0;
  }
  return r;
}

HttpResponse waitForStatus(std::uint16_t port, const std::string& path, int status,
                           std::chrono::milliseconds deadline, std::chrono::milliseconds interval) {
  const auto end = Clock::now() + deadline;
  for (;;) {
    HttpResponse r = httpGet(port, path, std::chrono::seconds(2));
    if (r.status == status || Clock::now() >= end) {
      return r;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace mqb::test

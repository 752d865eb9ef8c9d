#include "mqtt/wire/net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <thread>

namespace mqb::mqtt::wire::net {
namespace {

/// A getaddrinfo() running on its own thread so that the caller can give up (deadline, abort)
/// without waiting for it; whoever finishes last frees the result.
struct DnsJob {
  std::mutex m;
  bool done = false;
  int rc = 0;
  int sysErrno = 0;
  addrinfo* res = nullptr;
  UniqueFd efd;  ///< eventfd signalled when done
  ~DnsJob() {
    if (res != nullptr) {
      freeaddrinfo(res);
    }
  }
};

addrinfo hintsFor(int flags) {
  addrinfo h{};
  h.ai_family = AF_UNSPEC;
  h.ai_socktype = SOCK_STREAM;
  h.ai_protocol = IPPROTO_TCP;
  h.ai_flags = flags | AI_NUMERICSERV;  // no AI_ADDRCONFIG: it hides loopback-only families
  return h;
}

/// "127.0.0.1:1883" / "[::1]:1883".
std::string addrText(const addrinfo* a) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  std::string out;
  if (a->ai_family == AF_INET6) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  return out.append(":").append(serv);
}

}  // namespace

bool abortSignalled(int abortFd) {
  if (abortFd < 0) {
    return false;
  }
  pollfd p{abortFd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

/// Waits until `fd` shows one of `events` (or an error/hangup), `abortFd` becomes readable, or
/// `deadline` passes.
Wait waitFd(int fd, short events, Clock::time_point deadline, int abortFd, std::string& why) {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return abortSignalled(abortFd) ? Wait::Aborted : Wait::Timeout;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int timeout = static_cast<int>(std::min<long long>(ms, INT_MAX));
    pollfd p[2] = {{fd, events, 0}, {abortFd, POLLIN, 0}};
    const nfds_t n = abortFd >= 0 ? 2 : 1;
    const int r = ::poll(p, n, timeout);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      why = "poll: " + errnoText(errno);
      return Wait::Failed;
    }
    if (n == 2 && p[1].revents != 0) {
      return Wait::Aborted;
    }
    if (r > 0 && p[0].revents != 0) {
      return Wait::Ready;
    }
  }
}

AddrInfoPtr resolve(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    int abortFd, ConnectError& err) {
  const std::string service = std::to_string(port);
  addrinfo hints = hintsFor(AI_NUMERICHOST);
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == 0) {
    return AddrInfoPtr(res);
  }
  // A name: resolve on a helper thread so the deadline and abortFd are honoured.
  auto job = std::make_shared<DnsJob>();
  job->efd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  bool threaded = false;
  if (job->efd.get() >= 0) {
    try {
      std::thread([job, host, service] {
        addrinfo h = hintsFor(0);
        addrinfo* r = nullptr;
        const int c = getaddrinfo(host.c_str(), service.c_str(), &h, &r);
        const int e = errno;
        std::lock_guard<std::mutex> lock(job->m);
        job->rc = c;
        job->sysErrno = e;
        job->res = r;
        job->done = true;
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto w = ::write(job->efd.get(), &one, sizeof one);
      }).detach();
      threaded = true;
    } catch (...) {  // no thread: resolve synchronously below
    }
  }
  if (threaded) {
    std::string why;
    switch (waitFd(job->efd.get(), POLLIN, deadline, abortFd, why)) {
      case Wait::Ready:
        break;
      case Wait::Timeout:
        err = {Cause::ConnectTimeout, "resolving " + host + " took too long"};
        return nullptr;
      case Wait::Aborted:
        err = {Cause::Aborted, "aborted while resolving " + host};
        return nullptr;
      case Wait::Failed:
        err = {Cause::DnsFailed, why};
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(job->m);
    rc = job->rc;
    res = std::exchange(job->res, nullptr);
    errno = job->sysErrno;
  } else {
    hints = hintsFor(0);
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (rc != 0 || res == nullptr) {
    AddrInfoPtr drop(res);
    const std::string what = rc == EAI_SYSTEM ? errnoText(errno) : std::string(gai_strerror(rc));
    err = {Cause::DnsFailed, host + ": " + what};
    return nullptr;
  }
  return AddrInfoPtr(res);
}
UniqueFd connectTcp(const addrinfo* list, Clock::time_point deadline, int abortFd,
                    ConnectError& err) {
  std::string failures;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    const std::string where = addrText(a);
    auto note = [&](const std::string& why) {
      if (!failures.empty()) {
        failures += "; ";
      }
      failures += where + ": " + why;
    };
    UniqueFd s(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (s.get() < 0) {
      note("socket: " + errnoText(errno));
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS && errno != EINTR) {
        note(errnoText(errno));
        continue;
      }
      std::string why;
      switch (waitFd(s.get(), POLLOUT, deadline, abortFd, why)) {
        case Wait::Ready:
          break;
        case Wait::Timeout:
          err = {Cause::ConnectTimeout, "TCP connect to " + where + " took too long"};
          return UniqueFd();
        case Wait::Aborted:
          err = {Cause::Aborted, "aborted while connecting to " + where};
          return UniqueFd();
        case Wait::Failed:
          note(why);
          continue;
      }
      int soError = 0;
      socklen_t len = sizeof soError;
      if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soError, &len) != 0) {
        soError = errno;
      }
      if (soError != 0) {
        note(errnoText(soError));
        continue;
      }
    }
    const int one = 1;
    ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
  }
  err = {Cause::TcpConnectFailed, failures.empty() ? "no address" : failures};
  return UniqueFd();
}

}  // namespace mqb::mqtt::wire::net

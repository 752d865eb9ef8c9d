#pragma once
// Sockets under the transport (internal to mqtt/wire): file descriptor ownership, waits bounded
// by a deadline that an abort descriptor can cut short, name resolution and TCP connect.

#include <netdb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/files.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt::wire::net {

using Clock = std::chrono::steady_clock;

using common::errnoText;

/// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset(std::exchange(o.fd_, -1));
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// Outcome of waiting for a socket during connect.
enum class Wait { Ready, Timeout, Aborted, Failed };

/// Is `abortFd` readable (or hung up) right now?
bool abortSignalled(int abortFd);

/// Waits until `fd` shows one of `events` (or an error/hangup), `abortFd` becomes readable, or
/// `deadline` passes.
Wait waitFd(int fd, short events, Clock::time_point deadline, int abortFd, std::string& why);

struct AddrInfoFree {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

/// Resolves host:port within the deadline (a name on a helper thread, so that the deadline and
/// `abortFd` are honoured while getaddrinfo() blocks).
AddrInfoPtr resolve(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    int abortFd, ConnectError& err);

/// Connects to the first address of `list` that accepts, within the deadline; TCP_NODELAY set.
UniqueFd connectTcp(const addrinfo* list, Clock::time_point deadline, int abortFd,
                    ConnectError& err);

}  // namespace mqb::mqtt::wire::net

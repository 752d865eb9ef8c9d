#pragma once
// Small helpers shared by the client's implementation files (client.cc, connect.cc,
// session.cc, dispatch.cc). Not part of the client's API.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "mqtt/client.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {

using Clock = std::chrono::steady_clock;

namespace detail {

/// Milliseconds until `t`, clamped to [0, 60 s] (a poll() timeout).
inline int msUntil(Clock::time_point t) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(d, 0, 60'000));
}

inline void drainEventFd(int fd) {
  std::uint64_t v = 0;
  while (read(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

/// The transport's proxy settings for `p` (its credential files read now); a failure with
/// CredentialsUnreadable naming the file otherwise.
std::optional<Failure> proxySettings(const Proxy& p, wire::ProxySettings& out);

/// Overwrites a secret before its memory is released.
inline void scrub(std::string& s) { std::fill(s.begin(), s.end(), '\0'); }

/// The content of a credential file (a password, a token), at most 64 KiB; nullopt when it
/// cannot be read or is larger.
std::optional<std::string> readCredentialFile(const std::string& path);

/// Secrets mounted from files often end in a newline that is not part of the value.
std::string trimNewlines(std::string s);

}  // namespace detail
}  // namespace mqb::mqtt

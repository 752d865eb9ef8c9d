#pragma once
// Minimal blocking HTTP/1.0 GET for tests: one request per connection, bounded by a timeout.
// Loopback only by intent (tests never talk to other hosts).
//
//   auto r = mqb::test::httpGet(port, "/readyz");
//   EXPECT_EQ(r.status, 200) << r.error << r.body;

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace mqb::test {

struct HttpResponse {
  int status = 0;                              ///< 0 if the request failed (then `error` says why)
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::string error;
};

/// GET http://host:port/path. `host` is a numeric IPv4 or IPv6 address. Never throws.
HttpResponse httpGet(std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5),
                     const std::string& host = "127.0.0.1");

/// Polls httpGet until the status equals `status` or `deadline` passes; returns the last
/// response. Polls every `interval`.
HttpResponse waitForStatus(std::uint16_t port, const std::string& path, int status,
                           std::chrono::milliseconds deadline,
                           std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace mqb::test

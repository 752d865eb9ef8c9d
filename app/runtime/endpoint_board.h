#pragma once
// Which remote endpoint each connector's clients use (the broker's `endpoint` or one of its
// failover endpoints), as their observers report it (metrics::setEndpointReporter), for the
// status topic. One board per process; thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "mqtt/client.h"

namespace mqb::app {

class EndpointBoard {
 public:
  /// Called with the endpoint index and "host:port" whenever it changes for the connector (and
  /// once on subscribe when it is known). Runs with the board's lock held: must not block and must
  /// not call the board.
  using Listener = std::function<void(std::size_t index, const std::string& endpoint)>;

  static EndpointBoard& instance();
  /// Installs the reporter that feeds the board (idempotent).
  static void install();

  /// A remote-side client of `connector` connected to endpoint `index`.
  void report(std::string_view connector, std::size_t index, const std::string& endpoint);
  std::uint64_t subscribe(const std::string& connector, Listener listener);
  /// After it returns, the listener is not running and is not called again.
  void unsubscribe(std::uint64_t id);

 private:
  struct Entry {
    std::size_t index = 0;
    std::string endpoint;
  };
  struct Sub {
    std::string connector;
    Listener listener;
  };
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> latest_;
  std::map<std::uint64_t, Sub> subs_;
  std::uint64_t next_ = 1;
};

/// "host:port" ("[v6]:port") of an endpoint.
std::string hostPort(const mqtt::Endpoint& e);

}  // namespace mqb::app

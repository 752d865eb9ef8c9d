#pragma once
// The bridge's HTTP endpoint (civetweb): /metrics (Prometheus text format), /healthz (liveness)
// and /readyz (readiness) for Kubernetes probes.
//
//   metrics::Watchdog dog;
//   auto& loop = dog.add("main_loop", std::chrono::seconds(30));
//   metrics::HttpServer http({.address = o.metricsAddress}, m.registry());
//   http.setHealthCheck([&] { return dog.check(); });
//   http.setReadinessCheck([&] { return m.readiness(); });
//   ... loop.beat() every few seconds from the main loop ...

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/metrics.h"

struct mg_context;
struct mg_connection;

namespace mqb::metrics {

/// Liveness: named heartbeats that must each beat at least every `maxAge`. Thread-safe; beat() is
/// one relaxed atomic store.
class Watchdog {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;

  class Heartbeat {
   public:
    void beat() noexcept;

   private:
    friend class Watchdog;
    Heartbeat(const Watchdog& dog, std::string name, std::chrono::nanoseconds maxAge);
    const Watchdog& dog_;
    std::string name_;
    std::chrono::nanoseconds maxAge_;
    std::atomic<std::int64_t> last_{0};  ///< ns since the clock's epoch
  };

  /// `now` is injectable for tests (defaults to steady_clock::now).
  explicit Watchdog(Now now = {});

  /// Adds a heartbeat that counts as beaten now. The reference is valid for the Watchdog's life.
  Heartbeat& add(std::string name, std::chrono::nanoseconds maxAge);

  /// Lists each heartbeat older than its maxAge ("heartbeat main_loop stale for 42.0s").
  Readiness check() const;

 private:
  std::int64_t nowNs() const;
  Now now_;
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Heartbeat>> beats_;
};

struct HttpServerOptions {
  /// civetweb listening address: "HOST:PORT", "[::1]:PORT" or "PORT". Port 0 picks a free port.
  std::string address = "0.0.0.0:9400";
  int threads = 2;
};

/// Serves GET /metrics, /healthz, /readyz. Thread-safe. Other paths: 404.
///  /metrics  200, text/plain; version=0.0.4 (the registry's families)
///  /healthz  200 "ok\n" if the health check reports nothing, else 503 listing the problems
///  /readyz   200 "ready\n" if the readiness check reports nothing, else 503 with one line per
///            thing that is not ready. 503 "starting" until setReadinessCheck() is called.
class HttpServer {
 public:
  using Check = std::function<Readiness()>;

  /// Starts listening. Throws std::runtime_error("metrics address HOST:PORT: <reason>") if the
  /// address cannot be bound.
  HttpServer(HttpServerOptions options, std::shared_ptr<prometheus::Registry> registry);
  ~HttpServer();  ///< stops serving (waits for running requests)
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound TCP port (useful with port 0).
  int port() const noexcept { return port_; }

  /// Default: always healthy. The check runs on a civetweb thread: it must be fast and noexcept
  /// in spirit (an exception makes the probe fail with 503).
  void setHealthCheck(Check check);
  void setReadinessCheck(Check check);

 private:
  static int handle(mg_connection* conn, void* self) noexcept;
  int serve(mg_connection* conn, const std::string& path);
  Check health() const;
  Check readiness() const;

  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mutex_;
  Check health_;
  Check readiness_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace mqb::metrics

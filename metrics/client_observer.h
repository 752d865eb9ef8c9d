#pragma once
// The Prometheus side of an MQTT client: what mqtt::Client reports through its observer, counted
// in the client's series (metrics/route_metrics.h ClientMetrics).

#include <cstddef>
#include <string_view>

#include "metrics/route_metrics.h"
#include "mqtt/client.h"

namespace mqb::metrics {

/// Told which endpoint a client connected to, with the client's connector and side labels (e.g.
/// for the status topic). Called on the client's I/O thread; must not block.
using EndpointReporter = void (*)(std::string_view connector, std::string_view side,
                                  std::size_t index, const mqtt::Endpoint& e) noexcept;
/// Sets the process-wide reporter every ClientMetricsObserver calls (nullptr: none).
void setEndpointReporter(EndpointReporter r) noexcept;

/// The bounded `reason` label of mqbridge_client_connect_failures_total for a failure.
ConnectFailure connectFailureOf(const mqtt::Failure& f) noexcept;

/// Counts attempts, failures by class, reconnects, the connected gauge and the endpoint in use. `m`
/// may be null (then it counts nothing); it must outlive the observer.
class ClientMetricsObserver final : public mqtt::ClientObserver {
 public:
  explicit ClientMetricsObserver(ClientMetrics* m) noexcept : m_(m) {}
  void onConnectAttempt() noexcept override;
  void onConnected(bool reconnect) noexcept override;
  void onConnectFailed(const mqtt::Failure& why) noexcept override;
  void onConnectionLost(const mqtt::Failure& why) noexcept override;
  void onStopped() noexcept override;
  void onReauthentication(std::string_view result) noexcept override;
  void onCredentialsChanged(bool applied) noexcept override;
  void onEndpoint(std::size_t index, const mqtt::Endpoint& e) noexcept override;

 private:
  /// Keeps `why` as the client's lastFailure (what a pod condition shows).
  void noteFailure(const mqtt::Failure& why) noexcept;

  ClientMetrics* m_;
};

}  // namespace mqb::metrics

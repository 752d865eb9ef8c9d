#pragma once
// The Prometheus side of an MQTT client: what mqtt::Client reports through its observer, counted
// in the client's series (metrics/route_metrics.h ClientMetrics).

#include "metrics/route_metrics.h"
#include "mqtt/client.h"

namespace mqb::metrics {

/// The bounded `reason` label of mqbridge_client_connect_failures_total for a failure.
ConnectFailure connectFailureOf(const mqtt::Failure& f) noexcept;

/// Counts attempts, failures by class, reconnects and the connected gauge. `m` may be null
/// (then it counts nothing); it must outlive the observer.
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

 private:
  ClientMetrics* m_;
};

}  // namespace mqb::metrics

#pragma once
// Whether this instance reaches its brokers, in its own Pod's status (`run --kube` with a pod
// name): the conditions mqbridge.io/RemoteBrokerConnected and mqbridge.io/LocalBrokerConnected
// (config/kube/source.h). `kubectl describe pod` shows them; the operator turns a False one into
// the connector's RemoteUnreachable / LocalUnreachable reason.
//
// Written with a strategic merge patch of pods/<name>/status, so the kubelet's own conditions
// stay as they are; only when a condition's status or reason changes (a message that changes
// alone is not worth a write); from a thread of its own, so a slow or absent API server never
// holds the bridge's main loop. A write that fails is logged (once per distinct error) and
// retried with backoff (2 s doubling to 60 s).

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/kube/api.h"
#include "config/model.h"
#include "metrics/metrics.h"

namespace mqb::app {

struct PodCondition {
  std::string type;
  std::string status;  ///< "True", "False" or "Unknown"
  std::string reason;
  std::string message;
  std::string lastTransitionTime;  ///< set by the reporter: when `status` last changed
};

/// The two conditions for what the clients report (Metrics::connectivity()), endpoints named from
/// `cfg`. Per side: False ("Unreachable") when a client of some connector is not connected and
/// has failed; True ("Connected") when every client is connected; Unknown ("NoClients") when the
/// instance runs none of that side. A side whose clients are still connecting for the first time
/// gives no condition: the one written before stands.
std::vector<PodCondition> brokerConditions(const std::vector<metrics::SideConnectivity>& sides,
                                           const config::BridgeConfig& cfg);

class PodConditionReporter {
 public:
  /// Reports into pods/`pod`/status of the namespace `api` resolves to.
  PodConditionReporter(config::kube::Options api, std::string pod);
  /// Stops the thread (a request in flight ends within its 5 s timeout).
  ~PodConditionReporter();
  PodConditionReporter(const PodConditionReporter&) = delete;
  PodConditionReporter& operator=(const PodConditionReporter&) = delete;

  /// The conditions as they are now; written when their status or reason differs from what was
  /// written last. Cheap: call it as often as the state is looked at.
  void update(std::vector<PodCondition> conditions);

 private:
  void run();
  /// The conditions of `wanted_` not yet written (status or reason differ). Under mu_.
  std::vector<PodCondition> pending() const;
  bool write(const std::vector<PodCondition>& conditions);

  config::kube::Client api_;
  std::string pod_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PodCondition> wanted_;   ///< guarded by mu_
  std::vector<PodCondition> written_;  ///< guarded by mu_
  bool stop_ = false;                  ///< guarded by mu_
  bool connected_ = false;             ///< the thread's: api_.connect() succeeded
  std::string lastError_;              ///< the thread's
  std::thread thread_;
};

}  // namespace mqb::app

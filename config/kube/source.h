#pragma once
// Kubernetes-native configuration: the MqttBridgeConnector and MqttBridgeTopicMap resources of
// the pod's namespace, read from the API server (list, then watch from the list's
// resourceVersion; a 410 Gone or an ERROR event forces a relist), with the pod's service account
// token and CA. Feeds the bridge's reload path: load() turns the current set into a
// BridgeConfig, leaving out every invalid resource (reported in the log and, best effort, as a
// Kubernetes Event on that resource), so one bad `kubectl apply` never stops the valid routes.
//
//   KubeOptions o;                        // defaults: the in-cluster paths and service
//   KubeConfigSource kube(o, [] { kill(getpid(), SIGHUP); });
//   std::string err;
//   if (!kube.start(err)) { ... }         // initial list of both kinds (bounded)
//   auto cfg = kube.load(configOptions, diag);
//
// Not tried against a real API server: tested against tests/support/fake_kube_api.py.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "config/diagnostics.h"
#include "config/model.h"

namespace mqb::app {

/// The API group, version and the two resources the bridge reads.
inline constexpr const char* kKubeGroupVersion = "mq.iotoperations.azure.com/v1beta1";
inline constexpr const char* kKubeConnectors = "mqttbridgeconnectors";
inline constexpr const char* kKubeTopicMaps = "mqttbridgetopicmaps";

/// True if `mqbridge run` should read its configuration from the API server: `--kube`, or no
/// `-c` and KUBERNETES_SERVICE_HOST is set (running in a pod).
bool kubeModeWanted(const RunOptions& o);

class KubeConfigSource {
 public:
  /// `onChange` runs on a watch thread after every change of the resource set (must not block).
  KubeConfigSource(KubeOptions options, std::function<void()> onChange);
  /// Stops the watches (bounded: each notices within about a second).
  ~KubeConfigSource();
  KubeConfigSource(const KubeConfigSource&) = delete;
  KubeConfigSource& operator=(const KubeConfigSource&) = delete;

  /// Resolves server, token, CA and namespace, lists both kinds and starts the watches. False
  /// (and `error`) if the server cannot be reached or refuses the list.
  bool start(std::string& error);

  /// Changes whenever the set of resources changes (for the bridge's reload check).
  std::string stamp() const;

  /// The configuration of every valid resource. Invalid ones are left out and reported (log,
  /// Event; once per resourceVersion); their diagnostics go to `diag` as warnings. Never fails:
  /// no valid resource gives an empty configuration.
  config::BridgeConfig load(const ConfigOptions& files, config::Diagnostics& diag);

  const std::string& ns() const noexcept { return ns_; }
  /// Counters for tests and logs.
  int relists() const noexcept { return relists_.load(); }
  int eventsPosted() const noexcept { return eventsPosted_.load(); }

 private:
  struct Object {
    std::string name;
    std::string uid;
    std::string resourceVersion;
    std::string json;  ///< the object as received
  };
  struct Kind {
    std::string plural;
    std::string kind;
    std::map<std::string, Object> objects;  ///< by name; guarded by mu_
    std::string resourceVersion;            ///< of the last list or event; guarded by mu_
  };

  bool list(Kind& k, std::string& error);
  void watchLoop(Kind& k);
  /// Handles one line of a watch stream; false if the watch must end with a relist.
  bool handleEvent(Kind& k, const std::string& line);
  void changed();
  void postEvent(const std::string& kind, const Object& o, const std::string& message);
  std::string url(const std::string& plural) const;
  std::string token() const;

  KubeOptions opts_;
  std::function<void()> onChange_;
  std::string server_, token_, ns_;
  mutable std::mutex mu_;
  Kind connectors_{kKubeConnectors, "MqttBridgeConnector", {}, {}};
  Kind topicMaps_{kKubeTopicMaps, "MqttBridgeTopicMap", {}, {}};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> relists_{0};
  std::atomic<int> eventsPosted_{0};
  std::set<std::string> reported_;  ///< "<kind>/<name>@<rv>" already reported (main thread)
  std::vector<std::thread> threads_;
};

}  // namespace mqb::app

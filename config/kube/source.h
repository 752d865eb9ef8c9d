#pragma once
// Kubernetes-native configuration: the MqttBridgeConnector and MqttBridgeTopicMap resources of
// the pod's namespace, read from the API server (list, then watch from the list's
// resourceVersion; a 410 Gone or an ERROR event forces a relist), with the pod's service account
// token and CA. Feeds the bridge's reload path: load() turns the current set into a
// BridgeConfig, leaving out every invalid resource (reported in the log and, best effort, as a
// Kubernetes Event on that resource), so one bad `kubectl apply` never stops the valid routes.
//
//   Options o;                        // defaults: the in-cluster paths and service
//   Source kube(o, "", [] { kill(getpid(), SIGHUP); });   // "": every connector
//   if (auto started = kube.start(); !started) { ... started.error() ... }  // initial list
//   auto cfg = kube.load(loadOptions, validate, diag);
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

#include "common/result.h"
#include "config/diagnostics.h"
#include "config/kube/api.h"
#include "config/loader.h"
#include "config/model.h"

namespace mqb::config::kube {

/// The API group, version and the two resources the bridge reads.
inline constexpr const char* kGroupVersion = "mq.iotoperations.azure.com/v1beta1";
inline constexpr const char* kConnectors = "mqttbridgeconnectors";
inline constexpr const char* kTopicMaps = "mqttbridgetopicmaps";

/// The conditions a bridge pod writes into its own Pod's status (`run --kube` with a pod name)
/// and the operator reads: "True" while every client of that side of every connector the
/// instance serves is connected, "False" once one failed to connect (message: connector,
/// endpoint, clients connected, the last failure).
inline constexpr const char* kRemoteConnectedCondition = "mqbridge.io/RemoteBrokerConnected";
inline constexpr const char* kLocalConnectedCondition = "mqbridge.io/LocalBrokerConnected";

/// JSON as the loader reads it (yaml-cpp nodes): numbers and booleans become plain scalars.
YAML::Node toYaml(const Json& j);

/// Checks what the loader cannot by itself (e.g. route stages against the stage registry),
/// reporting into the diagnostics; a resource with an error there is left out like any other.
using Validate = std::function<void(const BridgeConfig&, Diagnostics&)>;

class Source {
 public:
  /// `onChange` runs on a watch thread after every change of the resource set (must not block).
  /// `connector` non-empty: only that MqttBridgeConnector and the topic maps naming it are
  /// loaded (the operator runs each connector's instances this way).
  Source(Options options, std::string connector, std::function<void()> onChange);
  /// Stops the watches (bounded: each notices within about a second).
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  /// Resolves server, token, CA and namespace, lists both kinds and starts the watches. Fails
  /// if the server cannot be reached or refuses the list.
  common::Status start();

  /// Changes whenever the set of resources changes (for the bridge's reload check).
  std::string stamp() const;

  /// The configuration of every valid resource. Invalid ones are left out and reported (log,
  /// Event; once per resourceVersion); their diagnostics go to `diag` as warnings. Never fails:
  /// no valid resource gives an empty configuration.
  /// `files` gives the directories the resources' Secrets and ConfigMaps are mounted in.
  BridgeConfig load(const LoadOptions& files, const Validate& validate, Diagnostics& diag);

  const std::string& ns() const noexcept { return ns_; }
  /// Counters for tests and logs.
  int relists() const noexcept;
  int eventsPosted() const noexcept { return eventsPosted_.load(); }

 private:
  struct Resource;  ///< a resource as the loader reads it

  /// The current resources, converted for the loader.
  std::vector<Resource> snapshot() const;
  /// Reports every resource of `all` in `excluded` (diagnostics; log and Event once).
  void reportLeftOut(const std::vector<Resource>& all, const std::set<std::string>& excluded,
                     std::map<std::string, std::string>& why, Diagnostics& diag);
  /// A watch event of `plural`: a reload when specChanged().
  void changed(const std::string& plural, const std::string& type, const Json& object);
  /// False for an object MODIFIED with the metadata.generation seen before (only its status or
  /// metadata changed). Keeps seen_.
  bool specChanged(const std::string& plural, const std::string& type, const Json& object);
  void postEvent(const Resource& r, const std::string& message);

  Options opts_;
  std::string connector_;
  std::function<void()> onChange_;
  Client client_;
  std::string ns_;
  // Before the informers: their threads use these until they are destroyed.
  std::atomic<std::uint64_t> generation_{0};
  std::mutex seenMu_;
  std::map<std::string, std::int64_t> seen_;  ///< "<plural>/<name>" -> metadata.generation
  std::unique_ptr<Informer> connectors_, topicMaps_;
  std::atomic<int> eventsPosted_{0};
  std::set<std::string> reported_;  ///< "<kind>/<name>@<rv>" already reported (main thread)
};

}  // namespace mqb::config::kube

#pragma once
// The operator's loop: watches MqttBridgeConnector and MqttBridgeTopicMap (and the StatefulSets,
// Services and Pods it generated) in each namespace, and after every change brings the generated
// objects to what desired.h computes, writes each resource's status (status.h) and posts Events
// for what it changed or found wrong. Level-based: every pass looks at the whole cached state,
// so a missed event is corrected by the next pass; a pass that finds nothing to change writes
// nothing (no object, status or Event), so an idle or restarted operator only watches.
//
//   Operator op(options);
//   if (auto s = op.start(); !s) { ... }   // lists everything, starts the watches
//   op.run(stop);                          // until stop becomes true
//
// Scale-down: replicas go down one instance at a time, each only once every instance is ready,
// so each leaving pod (the highest ordinal) gets SIGTERM on its own and drains within its grace
// period while the others keep serving; its spool PVC is retained.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/kube/api.h"
#include "config/kube/source.h"
#include "operator/desired.h"
#include "operator/status.h"
#include "operator/validation.h"

namespace mqb::op {

struct OperatorOptions {
  config::kube::Options api;
  std::vector<std::string> namespaces;  ///< empty: the operator's own namespace
  PodDefaults pods;
  config::kube::Validate validate;          ///< checks beyond the loader (route stages)
  std::chrono::milliseconds resync{30000};  ///< a pass from the cache even without events
};

class Operator {
 public:
  explicit Operator(OperatorOptions options);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  common::Status start();
  void run(const std::atomic<bool>& stop);

  /// Writes sent to the API server so far (objects, status, Events).
  int writes() const noexcept { return client_.writes(); }

 private:
  struct Namespace;

  void passNamespace(Namespace& ns);
  void reconcileConnector(Namespace& ns, const Json& connector, const Validation& v);
  /// Creates or patches one generated object; "" or what failed.
  std::string apply(Namespace& ns, const config::kube::Informer& cache, const std::string& plural,
                    const std::string& groupVersion, Json desired, const Json& owner);
  void fillObservation(Namespace& ns, const std::string& name, ConnectorObservation& o);
  void writeStatus(const std::string& ns, const std::string& plural, const Json& object,
                   const Json& status);
  void event(const Json& involved, const std::string& type, const std::string& reason,
             const std::string& message);
  void wake();

  OperatorOptions opts_;
  config::kube::Client client_;
  std::vector<std::unique_ptr<Namespace>> namespaces_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;  ///< guarded by mu_
};

}  // namespace mqb::op

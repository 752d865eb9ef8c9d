#pragma once
// A small Kubernetes API client over libcurl, shared by the bridge's `run --kube` configuration
// source (config/kube/source.h), its pod conditions (app/runtime/pod_conditions.h) and the
// operator (operator/): plain requests (GET, POST, PUT, merge and strategic merge PATCH, DELETE)
// with the service account's bearer token and CA, and an Informer that keeps one resource kind of
// one namespace in memory (list, then watch from the list's resourceVersion; a 410 Gone or an
// ERROR event forces a relist; a watch that ends normally resumes).
//
//   Client api(options);
//   if (auto ok = api.connect(); !ok) { ... ok.error() ... }
//   Response r = api.get(Client::path("apps/v1", "ns", "statefulsets", "name"));
//   if (r.status == 404) ...; if (r.status == 409) { /* conflict: re-read and retry */ }
//
// Every method may be called from any thread. Not tried against a real API server: tested
// against tests/support/fake_kube_api.py.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"

namespace mqb::config::kube {

using Json = nlohmann::json;

/// Where the API server is (defaults: the pod's service account).
struct Options {
  std::string apiServer;  ///< https://host:port; "" = from KUBERNETES_SERVICE_HOST/_PORT
  std::string tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  std::string ns;  ///< overrides the namespace file (then MQBRIDGE_NAMESPACE)
};

/// One answer of the API server. `error` is set when there was no HTTP answer at all.
struct Response {
  long status = 0;
  std::string body;
  std::string error;

  bool ok() const noexcept { return error.empty() && status >= 200 && status < 300; }
  /// "HTTP 409 <message>" or the transport error: for logs and conditions.
  std::string describe() const;
  /// The body as JSON (null if it is not JSON).
  Json json() const;
};

class Client {
 public:
  explicit Client(Options options);

  /// Resolves server, token and namespace. Fails without a server or a token; the namespace
  /// may stay empty (then defaultNamespace() is "").
  common::Status connect();

  const std::string& server() const noexcept { return server_; }
  const std::string& defaultNamespace() const noexcept { return ns_; }

  /// "/apis/<groupVersion>/namespaces/<ns>/<plural>[/<name>[/<sub>]]"; groupVersion "v1" is the
  /// core group (/api/v1).
  static std::string path(const std::string& groupVersion, const std::string& ns,
                          const std::string& plural, const std::string& name = "",
                          const std::string& sub = "");

  Response get(const std::string& path) const;
  Response create(const std::string& collectionPath, const Json& object) const;  ///< POST
  Response update(const std::string& path, const Json& object) const;     ///< PUT (resourceVersion)
  Response mergePatch(const std::string& path, const Json& patch) const;  ///< merge-patch+json
  /// strategic-merge-patch+json: lists with a merge key (a Pod's status.conditions: `type`)
  /// are merged element by element instead of replaced.
  Response strategicMergePatch(const std::string& path, const Json& patch,
                               long timeoutSeconds = 30) const;
  Response remove(const std::string& path) const;  ///< DELETE

  /// Streams a watch: `onLine` gets each JSON line and returns false to end the stream. Ends
  /// as well when `stop` becomes true (within about a second) or after `timeoutSeconds`.
  Response stream(const std::string& pathAndQuery,
                  const std::function<bool(const std::string&)>& onLine,
                  const std::atomic<bool>& stop, long timeoutSeconds) const;

  /// Writes (POST, PUT, PATCH, DELETE) sent so far.
  int writes() const noexcept { return writes_.load(); }

 private:
  Response request(const std::string& method, const std::string& path, const std::string& body,
                   const char* contentType, long timeoutSeconds) const;
  std::string token() const;

  Options opts_;
  std::string server_, token_, ns_;
  mutable std::atomic<int> writes_{0};
};

/// The objects of one kind in one namespace, kept current by list + watch on a thread.
class Informer {
 public:
  /// `onChange(type, object)` runs on the watch thread after the cache changed: type is
  /// ADDED, MODIFIED, DELETED, or RELISTED (object null) after a relist. Must not block.
  using OnChange = std::function<void(const std::string& type, const Json& object)>;

  Informer(const Client& client, std::string groupVersion, std::string ns, std::string plural,
           std::string labelSelector, OnChange onChange);
  ~Informer();  ///< stops the watch (bounded: about a second)
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  /// The initial list (synchronous), then the watch thread. Fails if the list fails.
  common::Status start();

  /// Every object, by name.
  std::map<std::string, Json> snapshot() const;
  std::optional<Json> find(const std::string& name) const;
  const std::string& plural() const noexcept { return plural_; }
  const std::string& ns() const noexcept { return ns_; }
  int relists() const noexcept { return relists_.load(); }

 private:
  common::Status list();
  void watchLoop();
  /// Handles one line of a watch stream; false if the watch must end with a relist.
  bool handleEvent(const std::string& line);
  std::string collection() const;
  void pause(std::chrono::milliseconds d) const;

  const Client& client_;
  std::string groupVersion_, ns_, plural_, selector_;
  OnChange onChange_;
  mutable std::mutex mu_;
  std::map<std::string, Json> objects_;  ///< guarded by mu_
  std::string resourceVersion_;          ///< of the last list or event; guarded by mu_
  std::atomic<bool> stop_{false};
  std::atomic<int> relists_{0};
  std::thread thread_;
};

/// The current time as RFC 3339 (seconds, UTC), as Kubernetes writes timestamps.
std::string isoNow();

}  // namespace mqb::config::kube

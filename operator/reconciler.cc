#include "operator/reconciler.h"

#include <map>
#include <set>

#include "common/log.h"
#include "config/loader.h"
#include "operator/compare.h"
#include "operator/validation.h"

namespace mqb::op {

using config::kube::Client;
using config::kube::Informer;
using config::kube::Response;

struct Operator::Namespace {
  std::string name;
  std::unique_ptr<Informer> connectors, topicMaps, statefulSets, services, pods;
};

namespace {

const std::string kSelector = std::string(kManagedByLabel) + "%3D" + kManagedBy;

std::string nameOf(const Json& o) { return o.value("/metadata/name"_json_pointer, ""); }

std::int64_t generationOf(const Json& o) {
  return o.value("/metadata/generation"_json_pointer, std::int64_t{1});
}

/// What a merge patch must carry to make `live` cover `desired`: labels, annotations,
/// ownerReferences and spec (lists inside are replaced whole by a merge patch).
Json patchOf(const Json& desired, const Json& live) {
  Json md = {{"labels", desired["metadata"]["labels"]},
             {"ownerReferences", desired["metadata"]["ownerReferences"]},
             {"resourceVersion", live.value("/metadata/resourceVersion"_json_pointer, "")}};
  if (desired["metadata"].contains("annotations")) {
    md["annotations"] = desired["metadata"]["annotations"];
  }
  return {{"metadata", md}, {"spec", desired["spec"]}};
}

/// A pod's waiting reason that will not resolve by itself, as "pod: reason: message".
std::string podProblem(const Json& pod) {
  static const std::set<std::string> bad = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                            "CrashLoopBackOff", "CreateContainerConfigError"};
  const Json statuses = pod.value("/status/containerStatuses"_json_pointer, Json::array());
  for (const auto& s : statuses) {
    const std::string reason = s.value("/state/waiting/reason"_json_pointer, "");
    if (bad.count(reason) != 0) {
      return nameOf(pod) + ": " + reason + ": " +
             s.value("/state/waiting/message"_json_pointer, "");
    }
  }
  return "";
}

/// "pod: message" when the pod's condition `type` (written by the bridge) is False, else "".
std::string brokerProblem(const Json& pod, const char* type) {
  for (const auto& c : pod.value("/status/conditions"_json_pointer, Json::array())) {
    if (c.value("type", "") == type && c.value("status", "") == "False") {
      return nameOf(pod) + ": " + c.value("message", "");
    }
  }
  return "";
}

void appendProblem(std::string& to, const std::string& problem) {
  if (!problem.empty()) {
    to.append(to.empty() ? "" : "; ").append(problem);
  }
}

}  // namespace

Operator::Operator(OperatorOptions options) : opts_(std::move(options)), client_(opts_.api) {}

Operator::~Operator() = default;

void Operator::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

common::Status Operator::start() {
  if (auto connected = client_.connect(); !connected) {
    return connected;
  }
  std::vector<std::string> names = opts_.namespaces;
  if (names.empty()) {
    if (client_.defaultNamespace().empty()) {
      return common::Error{"no namespace: give --namespace or run in a pod"};
    }
    names.push_back(client_.defaultNamespace());
  }
  auto onEvent = [this](const std::string&, const Json&) { wake(); };
  for (const auto& n : names) {
    auto ns = std::make_unique<Namespace>();
    ns->name = n;
    const std::string gv = config::kube::kGroupVersion;
    ns->connectors =
        std::make_unique<Informer>(client_, gv, n, config::kube::kConnectors, "", onEvent);
    ns->topicMaps =
        std::make_unique<Informer>(client_, gv, n, config::kube::kTopicMaps, "", onEvent);
    ns->statefulSets =
        std::make_unique<Informer>(client_, "apps/v1", n, "statefulsets", kSelector, onEvent);
    ns->services = std::make_unique<Informer>(client_, "v1", n, "services", kSelector, onEvent);
    ns->pods = std::make_unique<Informer>(client_, "v1", n, "pods", kSelector, onEvent);
    for (Informer* i : {ns->connectors.get(), ns->topicMaps.get(), ns->statefulSets.get(),
                        ns->services.get(), ns->pods.get()}) {
      if (auto listed = i->start(); !listed) {
        return listed;
      }
    }
    namespaces_.push_back(std::move(ns));
  }
  log::info("operator_started", {{"server", client_.server()}, {"namespaces", names.size()}});
  return {};
}

void Operator::run(const std::atomic<bool>& stop) {
  bool synced = false;  // the first pass is logged: it shows what a (re)start had to write
  while (!stop) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto until = std::chrono::steady_clock::now() + opts_.resync;
      while (!dirty_ && !stop && std::chrono::steady_clock::now() < until) {
        cv_.wait_for(lock, std::chrono::milliseconds(200));
      }
      dirty_ = false;
    }
    if (stop) {
      break;
    }
    const int before = client_.writes();
    for (auto& ns : namespaces_) {
      passNamespace(*ns);
    }
    log::debug("operator_pass", {{"writes", client_.writes() - before}});
    if (!synced) {
      synced = true;
      log::info("operator_synced", {{"writes", client_.writes()}});
    }
  }
}

void Operator::passNamespace(Namespace& ns) {
  const auto connectors = ns.connectors->snapshot();
  const auto topicMaps = ns.topicMaps->snapshot();
  const Validation v = validateAll(connectors, topicMaps, opts_.validate);
  for (const auto& [name, c] : connectors) {
    if (c.contains("/metadata/deletionTimestamp"_json_pointer)) {
      continue;  // the garbage collector removes what it owns
    }
    reconcileConnector(ns, c, v);
  }
  for (const auto& [name, t] : topicMaps) {
    const auto& errs = v.topicMapErrs.at(name);
    const auto routes = v.topicMapRoutes.find(name);
    const Json previous = t.value("status", Json());
    const Json status =
        topicMapStatus(generationOf(t), routes == v.topicMapRoutes.end() ? 0 : routes->second, errs,
                       previous, config::kube::isoNow());
    if (status == previous) {
      continue;
    }
    writeStatus(ns.name, config::kube::kTopicMaps, t, status);
    const bool wasAccepted = !previous.is_object() || previous.value("accepted", true);
    const Json wasMessages = previous.is_object() ? previous.value("messages", Json()) : Json();
    if (wasAccepted != errs.empty() || wasMessages != status["messages"]) {
      if (errs.empty()) {
        event(t, "Normal", "Accepted", status["conditions"][0].value("message", ""));
      } else {
        event(t, "Warning", "InvalidTopicMap", status["conditions"][0].value("message", ""));
      }
    }
  }
}

void Operator::reconcileConnector(Namespace& ns, const Json& connector, const Validation& v) {
  const std::string name = nameOf(connector);
  ConnectorObservation o;
  o.generation = generationOf(connector);
  o.wanted = connector.value("/spec/bridgeInstances"_json_pointer, 1);
  countTopicMaps(name, ns.topicMaps->snapshot(), v, o);
  if (const auto bad = v.connectorErrors.find(name); bad != v.connectorErrors.end()) {
    o.connectorError = bad->second;
  } else {
    Desired d = desiredObjects(connector, v.connectors.at(name), opts_.pods);
    // Scale-down one instance at a time: the next leaves once the last one has gone and the
    // instances that stay are ready, so each leaving pod drains alone.
    if (const auto live = ns.statefulSets->find(statefulSetName(name))) {
      const int replicas = live->value("/spec/replicas"_json_pointer, 0);
      const int pods = live->value("/status/replicas"_json_pointer, 0);
      const int ready = live->value("/status/readyReplicas"_json_pointer, 0);
      if (replicas > o.wanted && pods > o.wanted) {
        const bool stepDone = pods <= replicas && ready >= pods - 1;
        d.statefulSet["spec"]["replicas"] = stepDone ? pods - 1 : replicas;
        o.drainNote = "scaling down to " + std::to_string(o.wanted) + ": instance " +
                      std::to_string(pods - 1) + " drains before the next one leaves";
      }
    }
    for (const auto& e :
         {apply(ns, *ns.statefulSets, "statefulsets", "apps/v1", d.statefulSet, connector),
          apply(ns, *ns.services, "services", "v1", d.headlessService, connector),
          apply(ns, *ns.services, "services", "v1", d.metricsService, connector)}) {
      if (!e.empty()) {
        o.applyError.append(o.applyError.empty() ? "" : "; ").append(e);
      }
    }
  }
  fillObservation(ns, name, o);
  const Json previous = connector.value("status", Json());
  const Json status = connectorStatus(o, previous, config::kube::isoNow());
  if (status == previous) {
    return;
  }
  writeStatus(ns.name, config::kube::kConnectors, connector, status);
  const Json prevConditions = previous.is_object() ? previous.value("conditions", Json()) : Json();
  const Json prevDegraded =
      prevConditions.is_array() && prevConditions.size() > 2 && prevConditions[2].is_object()
          ? prevConditions[2]
          : Json::object();
  const Json& degraded = status["conditions"][2];
  if (degraded.value("status", "") == "True" &&
      (prevDegraded.value("reason", "") != degraded.value("reason", "") ||
       prevDegraded.value("message", "") != degraded.value("message", ""))) {
    event(connector, "Warning", degraded.value("reason", ""), degraded.value("message", ""));
  }
}

void Operator::fillObservation(Namespace& ns, const std::string& name, ConnectorObservation& o) {
  if (const auto sts = ns.statefulSets->find(statefulSetName(name))) {
    o.replicas = sts->value("/spec/replicas"_json_pointer, 0);
    o.ready = sts->value("/status/readyReplicas"_json_pointer, 0);
    o.updated = sts->value("/status/updatedReplicas"_json_pointer, 0);
    o.rolledOut = sts->value("/status/observedGeneration"_json_pointer, std::int64_t{0}) >=
                  generationOf(*sts);
  }
  for (const auto& [podName, pod] : ns.pods->snapshot()) {
    if (pod.value("/metadata/labels"_json_pointer, Json::object()).value(kInstanceLabel, "") ==
        name) {
      appendProblem(o.podProblem, podProblem(pod));
      appendProblem(o.remoteProblem, brokerProblem(pod, config::kube::kRemoteConnectedCondition));
      appendProblem(o.localProblem, brokerProblem(pod, config::kube::kLocalConnectedCondition));
    }
  }
}

std::string Operator::apply(Namespace& ns, const Informer& cache, const std::string& plural,
                            const std::string& groupVersion, Json desired, const Json& owner) {
  const std::string name = nameOf(desired);
  const std::string kind = desired.value("kind", "");
  const auto live = cache.find(name);
  Response r;
  std::string verb;
  if (!live) {
    verb = "Created";
    r = client_.create(Client::path(groupVersion, ns.name, plural), desired);
    if (r.status == 409) {
      return "";  // created meanwhile: the watch brings it, the next pass compares
    }
  } else if (covers(*live, desired)) {
    return "";
  } else {
    verb = "Updated";
    r = client_.mergePatch(Client::path(groupVersion, ns.name, plural, name),
                           patchOf(desired, *live));
    if (r.status == 409) {
      wake();  // changed since it was read: the next pass compares again
      return "";
    }
  }
  if (!r.ok()) {
    log::warn("operator_apply_failed",
              {{"kind", kind}, {"name", name}, {"namespace", ns.name}, {"detail", r.describe()}});
    return std::string(verb == "Created" ? "create " : "update ")
        .append(kind)
        .append(" ")
        .append(name)
        .append(": ")
        .append(r.describe());
  }
  log::info("operator_applied",
            {{"action", verb}, {"kind", kind}, {"name", name}, {"namespace", ns.name}});
  event(owner, "Normal", verb, std::string(verb).append(" ").append(kind).append(" ").append(name));
  return "";
}

void Operator::writeStatus(const std::string& ns, const std::string& plural, const Json& object,
                           const Json& status) {
  const std::string name = nameOf(object);
  const Response r = client_.mergePatch(
      Client::path(config::kube::kGroupVersion, ns, plural, name, "status"), {{"status", status}});
  if (!r.ok()) {
    log::warn("operator_status_failed",
              {{"resource", plural}, {"name", name}, {"detail", r.describe()}});
  }
}

void Operator::event(const Json& involved, const std::string& type, const std::string& reason,
                     const std::string& message) {
  const std::string ns = involved.value("/metadata/namespace"_json_pointer, "");
  const std::string name = nameOf(involved);
  const std::string now = config::kube::isoNow();
  const Json ev = {{"apiVersion", "v1"},
                   {"kind", "Event"},
                   {"metadata", {{"generateName", name + "."}, {"namespace", ns}}},
                   {"involvedObject",
                    {{"apiVersion", involved.value("apiVersion", "")},
                     {"kind", involved.value("kind", "")},
                     {"name", name},
                     {"namespace", ns},
                     {"uid", involved.value("/metadata/uid"_json_pointer, "")}}},
                   {"reason", reason},
                   {"message", message.substr(0, 1000)},
                   {"type", type},
                   {"source", {{"component", "mqbridge-operator"}}},
                   {"reportingComponent", "mqbridge-operator"},
                   {"firstTimestamp", now},
                   {"lastTimestamp", now},
                   {"count", 1}};
  const Response r = client_.create(Client::path("v1", ns, "events"), ev);
  if (!r.ok()) {
    log::warn("operator_event_failed", {{"name", name}, {"detail", r.describe()}});
  }
}

}  // namespace mqb::op

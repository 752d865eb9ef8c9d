#include "config/kube/source.h"

#include "common/log.h"

namespace mqb::config::kube {

YAML::Node toYaml(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) {
        n[k] = toYaml(v);
      }
      return n;
    }
    case Json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& v : j) {
        n.push_back(toYaml(v));
      }
      return n;
    }
    case Json::value_t::string:
      return YAML::Node(j.get<std::string>());
    case Json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return YAML::Node(j.dump());
  }
}

namespace {

/// "kube:<plural>/<name>": the file name of a resource in diagnostics.
std::string sourceName(const std::string& plural, const std::string& name) {
  return "kube:" + plural + "/" + name;
}

}  // namespace

struct Source::Resource {
  std::string plural, kind;
  Json object;      ///< as received
  YAML::Node doc;   ///< what the loader reads: apiVersion, kind, name, namespace, spec
  std::string src;  ///< the loader's source name (kube:<plural>/<name>)
};

Source::Source(Options options, std::string connector, std::function<void()> onChange)
    : opts_(std::move(options)),
      connector_(std::move(connector)),
      onChange_(std::move(onChange)),
      client_(opts_) {}

Source::~Source() = default;

common::Status Source::start() {
  if (auto connected = client_.connect(); !connected) {
    return connected;
  }
  ns_ = client_.defaultNamespace();
  if (ns_.empty()) {
    return common::Error{"no namespace: " + opts_.namespaceFile +
                         " is missing and MQBRIDGE_NAMESPACE unset"};
  }
  auto onEvent = [this](const std::string& plural) {
    return [this, plural](const std::string& type, const Json& object) {
      changed(plural, type, object);
    };
  };
  connectors_ = std::make_unique<Informer>(client_, kGroupVersion, ns_, kConnectors, "",
                                           onEvent(kConnectors));
  topicMaps_ =
      std::make_unique<Informer>(client_, kGroupVersion, ns_, kTopicMaps, "", onEvent(kTopicMaps));
  for (Informer* k : {connectors_.get(), topicMaps_.get()}) {
    if (auto listed = k->start(); !listed) {
      return listed;
    }
    std::lock_guard<std::mutex> lock(seenMu_);
    for (const auto& [name, object] : k->snapshot()) {
      seen_.emplace(k->plural() + "/" + name,
                    object.value("/metadata/generation"_json_pointer, std::int64_t{0}));
    }
  }
  log::info("kube_listed", {{"server", client_.server()},
                            {"namespace", ns_},
                            {"connector", connector_.empty() ? "*" : connector_},
                            {"connectors", connectors_->snapshot().size()},
                            {"topic_maps", topicMaps_->snapshot().size()}});
  return {};
}

int Source::relists() const noexcept {
  return (connectors_ ? connectors_->relists() : 0) + (topicMaps_ ? topicMaps_->relists() : 0);
}

bool Source::specChanged(const std::string& plural, const std::string& type, const Json& object) {
  // Our resources have a status subresource, so the API server bumps metadata.generation on
  // every change of what the loader reads (spec) and on nothing else: a status write (the
  // operator's, several per connector change) needs no reload.
  std::lock_guard<std::mutex> lock(seenMu_);
  if (object.is_null()) {
    seen_.clear();  // relisted: anything may have changed
    return true;
  }
  const std::string key = plural + "/" + object.value("/metadata/name"_json_pointer, "");
  const auto gen = object.value("/metadata/generation"_json_pointer, std::int64_t{0});
  if (type == "DELETED") {
    seen_.erase(key);
    return true;
  }
  const auto it = seen_.find(key);
  if (type == "MODIFIED" && gen != 0 && it != seen_.end() && it->second == gen) {
    return false;
  }
  seen_[key] = gen;
  return true;
}

std::string Source::stamp() const { return "kube:" + std::to_string(generation_.load()); }

void Source::changed(const std::string& plural, const std::string& type, const Json& object) {
  if (!specChanged(plural, type, object)) {
    return;
  }
  if (!object.is_null()) {
    log::info("kube_resource_changed",
              {{"event", type},
               {"kind", object.value("kind", "")},
               {"name", object.value("/metadata/name"_json_pointer, "")},
               {"resource_version", object.value("/metadata/resourceVersion"_json_pointer, "")}});
  }
  ++generation_;
  if (onChange_) {
    onChange_();
  }
}

void Source::postEvent(const Resource& r, const std::string& message) {
  const Json md = r.object.value("metadata", Json::object());
  const std::string name = md.value("name", "");
  const Json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", name + "."}, {"namespace", ns_}}},
      {"involvedObject",
       {{"apiVersion", kGroupVersion},
        {"kind", r.kind},
        {"name", name},
        {"namespace", ns_},
        {"uid", md.value("uid", "")},
        {"resourceVersion", md.value("resourceVersion", "")}}},
      {"reason", "InvalidConfiguration"},
      {"message", message.substr(0, 1000)},
      {"type", "Warning"},
      {"source", {{"component", "mqbridge"}}},
      {"reportingComponent", "mqbridge"},
      {"firstTimestamp", isoNow()},
      {"lastTimestamp", isoNow()},
      {"count", 1},
  };
  const Response res = client_.create(Client::path("v1", ns_, "events"), ev);
  if (res.ok()) {
    ++eventsPosted_;
  } else {
    log::warn("kube_event_failed", {{"name", name}, {"detail", res.describe()}});
  }
}

std::vector<Source::Resource> Source::snapshot() const {
  std::vector<Resource> all;
  if (!connectors_ || !topicMaps_) {
    return all;
  }
  const auto connectors = connectors_->snapshot();
  const auto topicMaps = topicMaps_->snapshot();
  for (const auto& [name, o] : connectors) {
    if (connector_.empty() || name == connector_) {
      all.push_back({kConnectors, kConnectorKind, o, {}, sourceName(kConnectors, name)});
    }
  }
  for (const auto& [name, o] : topicMaps) {
    const std::string ref = o.value("/spec/mqttBridgeConnectorRef"_json_pointer, "");
    if (connector_.empty() || ref == connector_) {
      all.push_back({kTopicMaps, kTopicMapKind, o, {}, sourceName(kTopicMaps, name)});
    }
  }
  for (auto& r : all) {
    // Only what the loader reads: status and server-managed metadata stay out.
    const Json& j = r.object;
    Json slim = {
        {"apiVersion", j.value("apiVersion", "")},
        {"kind", j.value("kind", r.kind)},
        {"metadata", {{"name", j.value("/metadata/name"_json_pointer, "")}, {"namespace", ns_}}}};
    if (j.contains("spec")) {
      slim["spec"] = j["spec"];
    }
    r.doc = toYaml(slim);
  }
  return all;
}

namespace {

/// One load of every resource not excluded.
struct Attempt {
  std::optional<BridgeConfig> config;  ///< set if there is no error
  Diagnostics warnings;
  std::set<std::string> bad;  ///< sources with an error
  bool unattributed = false;  ///< an error names no resource
  bool empty = true;          ///< nothing was left to load
};

template <typename Resources>
Attempt attempt(const Resources& all, const std::set<std::string>& excluded,
                const LoadOptions& files, const Validate& validate,
                std::map<std::string, std::string>& why) {
  LoadOptions lo = files;
  lo.paths.clear();
  lo.checkFiles = true;
  Loader loader(lo);
  Attempt a;
  for (const auto& r : all) {
    if (excluded.count(r.src) == 0) {
      loader.addResource(r.doc, r.src);
      a.empty = false;
    }
  }
  if (a.empty) {
    return a;
  }
  LoadResult lr = loader.finish();
  Diagnostics stageDiag;
  if (lr.config && validate) {
    validate(*lr.config, stageDiag);
  }
  for (const auto* d : {&lr.diagnostics, &stageDiag}) {
    for (const auto& x : d->all()) {
      if (x.severity != Severity::Error) {
        continue;
      }
      if (x.where.file.rfind("kube:", 0) == 0) {
        a.bad.insert(x.where.file);
        why[x.where.file] += (why[x.where.file].empty() ? "" : "; ") + format(x);
      } else {
        a.unattributed = true;
      }
    }
  }
  if (lr.config && !stageDiag.hasErrors()) {
    a.config = std::move(lr.config);
    a.warnings = std::move(lr.diagnostics);
  }
  return a;
}

}  // namespace

void Source::reportLeftOut(const std::vector<Resource>& all, const std::set<std::string>& excluded,
                           std::map<std::string, std::string>& why, Diagnostics& diag) {
  for (const auto& src : excluded) {
    diag.warning({src, 0, 0}, "", "left out: " + why[src]);
  }
  // Each left-out resource is reported once per resourceVersion.
  for (const auto& r : all) {
    if (excluded.count(r.src) == 0) {
      continue;
    }
    const std::string name = r.object.value("/metadata/name"_json_pointer, "");
    const std::string rv = r.object.value("/metadata/resourceVersion"_json_pointer, "");
    const std::string key = std::string(r.kind).append("/").append(name).append("@").append(rv);
    if (reported_.insert(key).second) {
      log::error("kube_resource_invalid", {{"kind", r.kind},
                                           {"name", name},
                                           {"resource_version", rv},
                                           {"detail", why[r.src]},
                                           {"action", "left out; other routes keep running"}});
      postEvent(r, why[r.src]);
    }
  }
}

BridgeConfig Source::load(const LoadOptions& files, const Validate& validate, Diagnostics& diag) {
  const std::vector<Resource> all = snapshot();
  std::set<std::string> excluded;  // source names
  std::map<std::string, std::string> why;
  // Each round leaves out the resources the last one found in error, so it ends after at most
  // one round per resource.
  for (std::size_t round = 0; round <= all.size(); ++round) {
    Attempt a = attempt(all, excluded, files, validate, why);
    if (a.empty) {
      break;
    }
    if (a.config) {
      for (const auto& x : a.warnings.all()) {
        diag.add(x);
      }
      reportLeftOut(all, excluded, why, diag);
      return std::move(*a.config);
    }
    if (a.bad.empty() || a.unattributed) {
      // Not attributable to one resource: leave out everything rather than guess.
      for (const auto& r : all) {
        a.bad.insert(r.src);
      }
    }
    excluded.insert(a.bad.begin(), a.bad.end());
  }
  reportLeftOut(all, excluded, why, diag);
  return BridgeConfig{};
}

}  // namespace mqb::config::kube

#include "config/kube/source.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/log.h"

namespace mqb::config::kube {
namespace {

using json = nlohmann::json;

std::string readTrimmed(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

/// JSON as the loader wants it (yaml-cpp nodes). Numbers and booleans become plain scalars.
YAML::Node toYaml(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) {
        n[k] = toYaml(v);
      }
      return n;
    }
    case json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& v : j) {
        n.push_back(toYaml(v));
      }
      return n;
    }
    case json::value_t::string:
      return YAML::Node(j.get<std::string>());
    case json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return YAML::Node(j.dump());
  }
}

struct Http {
  long status = 0;
  std::string body;
  std::string error;
};

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct StreamCtx {
  std::string buffer;
  std::function<bool(const std::string&)> onLine;  ///< false: abort the transfer
  const std::atomic<bool>* stop = nullptr;
  std::string* whole = nullptr;  ///< non-streaming: collects the body
};

size_t onWrite(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<StreamCtx*>(user);
  const size_t len = size * n;
  if (ctx->whole != nullptr) {
    ctx->whole->append(data, len);
    return len;
  }
  ctx->buffer.append(data, len);
  for (auto nl = ctx->buffer.find('\n'); nl != std::string::npos; nl = ctx->buffer.find('\n')) {
    std::string line = ctx->buffer.substr(0, nl);
    ctx->buffer.erase(0, nl + 1);
    if (!line.empty() && !ctx->onLine(line)) {
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
  }
  return len;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ctx = static_cast<StreamCtx*>(user);
  return ctx->stop != nullptr && ctx->stop->load() ? 1 : 0;
}

/// One HTTPS request to the API server. `ctx` streams (watch) when it has onLine.
Http request(const std::string& method, const std::string& url, const std::string& token,
             const std::string& caFile, const std::string& body, StreamCtx& ctx,
             long timeoutSeconds) {
  static CurlGlobal global;
  Http r;
  CURL* c = curl_easy_init();
  if (c == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  std::string whole;
  if (!ctx.onLine) {
    ctx.whole = &whole;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!body.empty()) {
    headers =
        curl_slist_append(headers, method == "PATCH" ? "Content-Type: application/merge-patch+json"
                                                     : "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CAINFO, caFile.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeoutSeconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
    r.error = curl_easy_strerror(rc);
  }
  r.body = std::move(whole);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

std::string isoNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// "kube:<plural>/<name>": the file name of a resource in diagnostics.
std::string sourceName(const std::string& plural, const std::string& name) {
  return "kube:" + plural + "/" + name;
}

}  // namespace

Source::Source(Options options, std::function<void()> onChange)
    : opts_(std::move(options)), onChange_(std::move(onChange)) {}

Source::~Source() {
  stop_ = true;
  for (auto& t : threads_) {
    t.join();
  }
}

std::string Source::url(const std::string& plural) const {
  return server_ + "/apis/" + kGroupVersion + "/namespaces/" + ns_ + "/" + plural;
}

common::Status Source::start() {
  server_ = opts_.apiServer;
  if (server_.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || *host == '\0') {
      return common::Error{
          "no API server: KUBERNETES_SERVICE_HOST is not set and --kube-api-server not given"};
    }
    const std::string h = host;
    server_ = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
              (port != nullptr && *port != '\0' ? port : "443");
  }
  while (!server_.empty() && server_.back() == '/') {
    server_.pop_back();
  }
  token_ = readTrimmed(opts_.tokenFile);
  if (token_.empty()) {
    return common::Error{"cannot read the service account token " + opts_.tokenFile};
  }
  ns_ = opts_.ns;
  if (ns_.empty()) {
    ns_ = readTrimmed(opts_.namespaceFile);
  }
  if (ns_.empty()) {
    if (const char* env = std::getenv("MQBRIDGE_NAMESPACE"); env != nullptr) {
      ns_ = env;
    }
  }
  if (ns_.empty()) {
    return common::Error{"no namespace: " + opts_.namespaceFile +
                         " is missing and MQBRIDGE_NAMESPACE unset"};
  }
  for (Kind* k : {&connectors_, &topicMaps_}) {
    if (auto listed = list(*k); !listed) {
      return listed;
    }
  }
  log::info("kube_listed", {{"server", server_},
                            {"namespace", ns_},
                            {"connectors", connectors_.objects.size()},
                            {"topic_maps", topicMaps_.objects.size()}});
  for (Kind* k : {&connectors_, &topicMaps_}) {
    threads_.emplace_back([this, k] { watchLoop(*k); });
  }
  return {};
}

std::string Source::token() const {
  // Projected tokens rotate: read the file for every request (it is small).
  std::string t = readTrimmed(opts_.tokenFile);
  return t.empty() ? token_ : t;
}

std::string Source::stamp() const { return "kube:" + std::to_string(generation_.load()); }

void Source::changed() {
  ++generation_;
  if (onChange_) {
    onChange_();
  }
}

common::Status Source::list(Kind& k) {
  StreamCtx ctx;
  const Http r = request("GET", url(k.plural), token(), opts_.caFile, "", ctx, 30);
  if (!r.error.empty() || r.status != 200) {
    return common::Error{"list " + k.plural + " in " + ns_ + ": " +
                         (r.error.empty()
                              ? "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200)
                              : r.error)};
  }
  try {
    const json j = json::parse(r.body);
    std::map<std::string, Object> objects;
    for (const auto& item : j.at("items")) {
      Object o;
      o.name = item.at("metadata").at("name").get<std::string>();
      o.uid = item["metadata"].value("uid", "");
      o.resourceVersion = item["metadata"].value("resourceVersion", "");
      o.json = item.dump();
      objects.emplace(o.name, std::move(o));
    }
    std::lock_guard<std::mutex> lock(mu_);
    k.objects = std::move(objects);
    k.resourceVersion = j.at("metadata").value("resourceVersion", "");
  } catch (const std::exception& e) {
    return common::Error{"list " + k.plural + ": bad response: " + e.what()};
  }
  return {};
}

bool Source::handleEvent(Kind& k, const std::string& line) {
  json ev;
  try {
    ev = json::parse(line);
  } catch (const std::exception& e) {
    log::warn("kube_watch_bad_event", {{"resource", k.plural}, {"detail", e.what()}});
    return false;
  }
  const std::string type = ev.value("type", "");
  const json& obj = ev.contains("object") ? ev["object"] : json::object();
  if (type == "ERROR") {
    const int code = obj.value("code", 0);
    log::info("kube_watch_error", {{"resource", k.plural},
                                   {"code", code},
                                   {"message", obj.value("message", "")},
                                   {"action", "relist"}});
    return false;
  }
  const json md = obj.contains("metadata") ? obj["metadata"] : json::object();
  const std::string rv = md.value("resourceVersion", "");
  if (type == "BOOKMARK") {
    std::lock_guard<std::mutex> lock(mu_);
    k.resourceVersion = rv;
    return true;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    log::warn("kube_watch_unknown_event", {{"resource", k.plural}, {"type", type}});
    return true;
  }
  const std::string name = md.value("name", "");
  {
    std::lock_guard<std::mutex> lock(mu_);
    k.resourceVersion = rv;
    if (type == "DELETED") {
      k.objects.erase(name);
    } else {
      Object o;
      o.name = name;
      o.uid = md.value("uid", "");
      o.resourceVersion = rv;
      o.json = obj.dump();
      k.objects[name] = std::move(o);
    }
  }
  log::info("kube_resource_changed",
            {{"event", type}, {"kind", k.kind}, {"name", name}, {"resource_version", rv}});
  changed();
  return true;
}

void Source::watchLoop(Kind& k) {
  auto backoff = std::chrono::milliseconds(200);
  bool relist = false;
  while (!stop_) {
    if (relist) {
      if (auto listed = list(k); !listed) {
        log::warn("kube_relist_failed", {{"resource", k.plural}, {"detail", listed.error()}});
        const auto until = std::chrono::steady_clock::now() + backoff;
        while (!stop_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
        continue;
      }
      ++relists_;
      relist = false;
      changed();  // the set may differ in any way; apply() keeps untouched routes running
    }
    std::string rv;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rv = k.resourceVersion;
    }
    StreamCtx ctx;
    ctx.stop = &stop_;
    bool gone = false;
    ctx.onLine = [&](const std::string& line) {
      if (!handleEvent(k, line)) {
        gone = true;
        return false;
      }
      return true;
    };
    const Http r = request("GET",
                           url(k.plural) + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=300" +
                               "&resourceVersion=" + rv,
                           token(), opts_.caFile, "", ctx, 330);
    if (stop_) {
      break;
    }
    if (gone || r.status == 410) {
      relist = true;
      backoff = std::chrono::milliseconds(200);
      continue;
    }
    if (!r.error.empty() || r.status != 200) {
      log::warn("kube_watch_failed",
                {{"resource", k.plural},
                 {"detail", r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error},
                 {"retry_ms", backoff.count()}});
      const auto until = std::chrono::steady_clock::now() + backoff;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
      relist = r.status >= 400;  // e.g. 401 after a token rotation: start over
      continue;
    }
    backoff = std::chrono::milliseconds(200);  // a normal end (timeoutSeconds): watch again
  }
}

void Source::postEvent(const std::string& kind, const Object& o, const std::string& message) {
  json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", o.name + "."}, {"namespace", ns_}}},
      {"involvedObject",
       {{"apiVersion", kGroupVersion},
        {"kind", kind},
        {"name", o.name},
        {"namespace", ns_},
        {"uid", o.uid},
        {"resourceVersion", o.resourceVersion}}},
      {"reason", "InvalidConfiguration"},
      {"message", message.substr(0, 1000)},
      {"type", "Warning"},
      {"source", {{"component", "mqbridge"}}},
      {"reportingComponent", "mqbridge"},
      {"firstTimestamp", isoNow()},
      {"lastTimestamp", isoNow()},
      {"count", 1},
  };
  StreamCtx ctx;
  const Http r = request("POST", server_ + "/api/v1/namespaces/" + ns_ + "/events", token(),
                         opts_.caFile, ev.dump(), ctx, 5);
  if (r.status == 201 || r.status == 200) {
    ++eventsPosted_;
  } else {
    log::warn("kube_event_failed",
              {{"name", o.name}, {"detail", r.error.empty() ? std::to_string(r.status) : r.error}});
  }
}

struct Source::Resource {
  std::string plural, kind;
  Object object;
  YAML::Node doc;   ///< what the loader reads: apiVersion, kind, name, namespace, spec
  std::string src;  ///< the loader's source name (kube:<plural>/<name>)
};

std::vector<Source::Resource> Source::snapshot() const {
  std::vector<Resource> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Kind* k : {&connectors_, &topicMaps_}) {
      for (const auto& [name, o] : k->objects) {
        all.push_back({k->plural, k->kind, o, {}, sourceName(k->plural, name)});
      }
    }
  }
  for (auto& r : all) {
    // Only what the loader reads: status and server-managed metadata stay out.
    json j = json::parse(r.object.json, nullptr, false);
    json slim = {{"apiVersion", j.value("apiVersion", "")},
                 {"kind", j.value("kind", r.kind)},
                 {"metadata", {{"name", r.object.name}, {"namespace", ns_}}}};
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
    const std::string key = r.kind + "/" + r.object.name + "@" + r.object.resourceVersion;
    if (reported_.insert(key).second) {
      log::error("kube_resource_invalid", {{"kind", r.kind},
                                           {"name", r.object.name},
                                           {"resource_version", r.object.resourceVersion},
                                           {"detail", why[r.src]},
                                           {"action", "left out; other routes keep running"}});
      postEvent(r.kind, r.object, why[r.src]);
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

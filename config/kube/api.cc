#include "config/kube/api.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace mqb::config::kube {
namespace {

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

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct StreamCtx {
  std::string buffer;
  const std::function<bool(const std::string&)>* onLine = nullptr;  ///< false: abort
  const std::atomic<bool>* stop = nullptr;
  std::string whole;  ///< non-streaming: the body
};

size_t onWrite(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<StreamCtx*>(user);
  const size_t len = size * n;
  if (ctx->onLine == nullptr) {
    ctx->whole.append(data, len);
    return len;
  }
  ctx->buffer.append(data, len);
  for (auto nl = ctx->buffer.find('\n'); nl != std::string::npos; nl = ctx->buffer.find('\n')) {
    std::string line = ctx->buffer.substr(0, nl);
    ctx->buffer.erase(0, nl + 1);
    if (!line.empty() && !(*ctx->onLine)(line)) {
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
  }
  return len;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ctx = static_cast<StreamCtx*>(user);
  return ctx->stop != nullptr && ctx->stop->load() ? 1 : 0;
}

/// One HTTPS request. `ctx.onLine` set: the body is streamed line by line (watch).
Response perform(const std::string& method, const std::string& url, const std::string& token,
                 const std::string& caFile, const std::string& body, const char* contentType,
                 StreamCtx& ctx, long timeoutSeconds) {
  static CurlGlobal global;
  Response r;
  CURL* c = curl_easy_init();
  if (c == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, std::string("Authorization: Bearer ").append(token).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for bodies
  if (contentType != nullptr) {
    headers = curl_slist_append(headers, std::string("Content-Type: ").append(contentType).c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
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
  r.body = std::move(ctx.whole);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

}  // namespace

std::string isoNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Response::describe() const {
  if (!error.empty()) {
    return error;
  }
  std::string message;
  const Json j = json();
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    message = j["message"].get<std::string>();
  } else {
    message = body.substr(0, 200);
  }
  return std::string("HTTP ").append(std::to_string(status)).append(" ").append(message);
}

Json Response::json() const { return Json::parse(body, nullptr, false); }

Client::Client(Options options) : opts_(std::move(options)) {}

common::Status Client::connect() {
  server_ = opts_.apiServer;
  if (server_.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || *host == '\0') {
      return common::Error{
          "no API server: KUBERNETES_SERVICE_HOST is not set and --kube-api-server not given"};
    }
    const std::string h = host;
    server_ = std::string("https://")
                  .append(h.find(':') != std::string::npos ? "[" + h + "]" : h)
                  .append(":")
                  .append(port != nullptr && *port != '\0' ? port : "443");
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
  return {};
}

std::string Client::path(const std::string& groupVersion, const std::string& ns,
                         const std::string& plural, const std::string& name,
                         const std::string& sub) {
  std::string p = groupVersion == "v1" ? "/api/v1" : "/apis/" + groupVersion;
  p.append("/namespaces/").append(ns).append("/").append(plural);
  if (!name.empty()) {
    p.append("/").append(name);
  }
  if (!sub.empty()) {
    p.append("/").append(sub);
  }
  return p;
}

std::string Client::token() const {
  // Projected tokens rotate: read the file for every request (it is small).
  std::string t = readTrimmed(opts_.tokenFile);
  return t.empty() ? token_ : t;
}

Response Client::request(const std::string& method, const std::string& path,
                         const std::string& body, const char* contentType,
                         long timeoutSeconds) const {
  if (method != "GET") {
    ++writes_;
  }
  StreamCtx ctx;
  return perform(method, server_ + path, token(), opts_.caFile, body, contentType, ctx,
                 timeoutSeconds);
}

Response Client::get(const std::string& path) const {
  return request("GET", path, "", nullptr, 30);
}

Response Client::create(const std::string& collectionPath, const Json& object) const {
  return request("POST", collectionPath, object.dump(), "application/json", 30);
}

Response Client::update(const std::string& path, const Json& object) const {
  return request("PUT", path, object.dump(), "application/json", 30);
}

Response Client::mergePatch(const std::string& path, const Json& patch) const {
  return request("PATCH", path, patch.dump(), "application/merge-patch+json", 30);
}

Response Client::strategicMergePatch(const std::string& path, const Json& patch,
                                     long timeoutSeconds) const {
  return request("PATCH", path, patch.dump(), "application/strategic-merge-patch+json",
                 timeoutSeconds);
}

Response Client::remove(const std::string& path) const {
  return request("DELETE", path, "", nullptr, 30);
}

Response Client::stream(const std::string& pathAndQuery,
                        const std::function<bool(const std::string&)>& onLine,
                        const std::atomic<bool>& stop, long timeoutSeconds) const {
  StreamCtx ctx;
  ctx.onLine = &onLine;
  ctx.stop = &stop;
  return perform("GET", server_ + pathAndQuery, token(), opts_.caFile, "", nullptr, ctx,
                 timeoutSeconds);
}

Informer::Informer(const Client& client, std::string groupVersion, std::string ns,
                   std::string plural, std::string labelSelector, OnChange onChange)
    : client_(client),
      groupVersion_(std::move(groupVersion)),
      ns_(std::move(ns)),
      plural_(std::move(plural)),
      selector_(std::move(labelSelector)),
      onChange_(std::move(onChange)) {}

Informer::~Informer() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string Informer::collection() const { return Client::path(groupVersion_, ns_, plural_); }

common::Status Informer::start() {
  if (auto listed = list(); !listed) {
    return listed;
  }
  thread_ = std::thread([this] { watchLoop(); });
  return {};
}

std::map<std::string, Json> Informer::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_;
}

std::optional<Json> Informer::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = objects_.find(name);
  return it == objects_.end() ? std::nullopt : std::optional<Json>(it->second);
}

common::Status Informer::list() {
  const std::string query = selector_.empty() ? "" : "?labelSelector=" + selector_;
  const Response r = client_.get(collection() + query);
  if (!r.ok()) {
    return common::Error{"list " + plural_ + " in " + ns_ + ": " + r.describe()};
  }
  const Json j = r.json();
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array()) {
    return common::Error{"list " + plural_ + ": bad response"};
  }
  std::map<std::string, Json> objects;
  for (const auto& item : j["items"]) {
    const std::string name = item.value("/metadata/name"_json_pointer, "");
    if (!name.empty()) {
      objects.emplace(name, item);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  objects_ = std::move(objects);
  resourceVersion_ = j.value("/metadata/resourceVersion"_json_pointer, "");
  return {};
}

bool Informer::handleEvent(const std::string& line) {
  const Json ev = Json::parse(line, nullptr, false);
  if (!ev.is_object()) {
    log::warn("kube_watch_bad_event", {{"resource", plural_}});
    return false;
  }
  const std::string type = ev.value("type", "");
  const Json obj = ev.contains("object") ? ev["object"] : Json::object();
  if (type == "ERROR") {
    log::info("kube_watch_error", {{"resource", plural_},
                                   {"code", obj.value("code", 0)},
                                   {"message", obj.value("message", "")},
                                   {"action", "relist"}});
    return false;
  }
  const std::string rv = obj.value("/metadata/resourceVersion"_json_pointer, "");
  if (type == "BOOKMARK") {
    std::lock_guard<std::mutex> lock(mu_);
    resourceVersion_ = rv;
    return true;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    log::warn("kube_watch_unknown_event", {{"resource", plural_}, {"type", type}});
    return true;
  }
  const std::string name = obj.value("/metadata/name"_json_pointer, "");
  {
    std::lock_guard<std::mutex> lock(mu_);
    resourceVersion_ = rv;
    if (type == "DELETED") {
      objects_.erase(name);
    } else {
      objects_[name] = obj;
    }
  }
  log::debug("kube_resource_changed",
             {{"event", type}, {"resource", plural_}, {"name", name}, {"resource_version", rv}});
  if (onChange_) {
    onChange_(type, obj);
  }
  return true;
}

void Informer::pause(std::chrono::milliseconds d) const {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Informer::watchLoop() {
  auto backoff = std::chrono::milliseconds(200);
  bool relist = false;
  while (!stop_) {
    if (relist) {
      if (auto listed = list(); !listed) {
        log::warn("kube_relist_failed", {{"resource", plural_}, {"detail", listed.error()}});
        pause(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
        continue;
      }
      ++relists_;
      relist = false;
      if (onChange_) {
        onChange_("RELISTED", Json());  // the set may differ in any way
      }
    }
    std::string rv;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rv = resourceVersion_;
    }
    bool gone = false;
    const std::function<bool(const std::string&)> onLine = [&](const std::string& line) {
      gone = !handleEvent(line);
      return !gone;
    };
    std::string query = collection() + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=300";
    query.append("&resourceVersion=").append(rv);
    if (!selector_.empty()) {
      query.append("&labelSelector=").append(selector_);
    }
    const Response r = client_.stream(query, onLine, stop_, 330);
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
                {{"resource", plural_}, {"detail", r.describe()}, {"retry_ms", backoff.count()}});
      pause(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
      relist = r.status >= 400;  // e.g. 401 after a token rotation: start over
      continue;
    }
    backoff = std::chrono::milliseconds(200);  // a normal end (timeoutSeconds): watch again
  }
}

}  // namespace mqb::config::kube

#include "sources/mqtt/client.h"

#include <MQTTReasonCodes.h>
#include <prometheus/family.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <vector>

#include "metrics/log.h"
#include "sources/mqtt/token_fetcher.h"

namespace mqb::sources {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Secrets mounted from files often end in a newline that is not part of the value.
std::string trimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

std::string snake(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  return out.empty() ? "unknown" : out;
}

std::string v3ConnackName(int code) {
  switch (code) {
    case 1:
      return "unacceptable_protocol_version";
    case 2:
      return "identifier_rejected";
    case 3:
      return "server_unavailable";
    case 4:
      return "bad_username_or_password";
    case 5:
      return "not_authorized";
    default:
      return "transport_error";
  }
}

bool writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

/// The bounded `reason` label of mqbridge_client_connect_failures_total for a failure reason
/// (a CONNACK reason name, a Paho error or one of this file's own names) and its detail.
metrics::ConnectFailure classifyFailure(std::string_view reason, std::string_view detail) {
  auto has = [](std::string_view s, std::string_view what) {
    return s.find(what) != std::string_view::npos;
  };
  if (has(reason, "ca_") || has(reason, "client_cert") || has(reason, "client_key") ||
      has(reason, "intermediate") || has(reason, "client_chain") || has(detail, "SSL") ||
      has(detail, "TLS") || has(detail, "certificate")) {
    return metrics::ConnectFailure::Tls;
  }
  if (has(reason, "not_authorized") || has(reason, "user_name_or_password") ||
      has(reason, "username_or_password") || has(reason, "banned") ||
      has(reason, "authentication") || has(reason, "credentials") || has(reason, "token")) {
    return metrics::ConnectFailure::NotAuthorized;
  }
  if (has(reason, "protocol") || has(reason, "malformed") || has(reason, "enhanced_auth")) {
    return metrics::ConnectFailure::Protocol;
  }
  if (reason == "transport_error" || reason == "connect_call_failed" || has(reason, "timeout") ||
      has(reason, "disconnected") || has(reason, "socket")) {
    return metrics::ConnectFailure::Network;
  }
  if (!reason.empty()) {
    return metrics::ConnectFailure::Refused;  // any other reason the broker's CONNACK gave
  }
  return metrics::ConnectFailure::Other;
}

void countFailure(metrics::ClientMetrics& m, std::string_view reason, std::string_view detail) {
  m.failure(classifyFailure(reason, detail));
}

int jitterMs(int ms) {
  thread_local std::mt19937 rng{std::random_device{}()};
  if (ms <= 1) {
    return ms;
  }
  std::uniform_int_distribution<int> d(ms / 2, ms);
  return d(rng);
}

}  // namespace

void ClientListener::onMessage(char* topic, int /*topicLen*/, MQTTAsync_message* message) noexcept {
  MQTTAsync_freeMessage(&message);
  MQTTAsync_free(topic);
}

std::string brokerUri(const config::BrokerConnection& broker) {
  std::string scheme;
  if (broker.transport == config::Transport::WebSocket) {
    scheme = broker.tls.enabled ? "wss" : "ws";
  } else {
    scheme = broker.tls.enabled ? "ssl" : "tcp";
  }
  std::string host = broker.host;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  return scheme + "://" + host + ":" + std::to_string(broker.port);
}

std::string reasonName(int code) {
  const char* s = MQTTReasonCode_toString(static_cast<enum MQTTReasonCodes>(code));
  return s ? snake(s) : "reason_" + std::to_string(code);
}

Client::Client(ClientOptions options, ClientListener* listener, metrics::ClientMetrics* metrics,
               Timer* timer)
    : options_(std::move(options)),
      listener_(listener),
      metrics_(metrics),
      timer_(timer ? timer : &Timer::shared()) {}

Client::~Client() { stop(std::chrono::milliseconds(200)); }

bool Client::start() {
  if (handle_ != nullptr) {
    return true;
  }
  {
    // A start() after stop() connects again (used to pause a subscriber for backpressure).
    std::lock_guard<std::mutex> lk(mu_);
    closingFlag_ = false;
    attempt_ = 0;
  }
  {
    std::lock_guard<std::mutex> lk(lifeMu_);
    closing_ = false;
  }
  {
    std::lock_guard<std::mutex> lk(disconnectMu_);
    disconnectDone_ = false;
  }
  const std::string uri = brokerUri(options_.broker);
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
  if (!v5()) {
    co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = MQTTVERSION_3_1_1;
  }
  // Paho's command queue holds what the sink's window allows plus a little headroom for QoS 0.
  co.maxBufferedMessages = std::max(64, options_.maxInflight * 2 + 16);
  co.sendWhileDisconnected = 0;
  int rc = MQTTAsync_createWithOptions(&handle_, uri.c_str(), options_.clientId.c_str(),
                                       MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
  if (rc != MQTTASYNC_SUCCESS) {
    log::error("mqtt_client_create_failed",
               {{"client", options_.clientId}, {"broker", uri}, {"error", MQTTAsync_strerror(rc)}});
    handle_ = nullptr;
    return false;
  }
  // Paho keeps an in-memory trace ring at TRACE_MINIMUM by default: every packet and every library
  // function entry/exit is recorded under a global log mutex (vsnprintf for packets). Raising the
  // level to ERROR skips that work: 192k -> 133k instructions per forwarded QoS 1 message
  // (callgrind, bench/bridge-ab --callgrind). MQTT_C_CLIENT_TRACE (debugging Paho) keeps Paho's
  // own setting.
  static std::once_flag traceOnce;
  std::call_once(traceOnce, [] {
    if (std::getenv("MQTT_C_CLIENT_TRACE") == nullptr) {
      MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    }
  });
  MQTTAsync_setCallbacks(handle_, this, &Client::onConnectionLost, &Client::onMessageArrived,
                         nullptr);
  if (v5()) {
    MQTTAsync_setDisconnected(handle_, this, &Client::onDisconnected);
  }
  if (options_.broker.auth.kind == config::AuthSpec::Kind::SystemAssignedManagedIdentity) {
    tokens_ =
        std::make_unique<TokenFetcher>(options_.identityEndpoint, options_.broker.auth.audience);
  }
  if (options_.broker.tls.enabled) {
    char tmpl[] = "/tmp/mqb-tls-XXXXXX";
    if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') {
      std::string p = std::string(t) + "/mqb-tls-XXXXXX";
      std::vector<char> buf(p.begin(), p.end());
      buf.push_back('\0');
      if (mkdtemp(buf.data()) != nullptr) {
        tmpDir_ = buf.data();
      }
    }
    if (tmpDir_.empty() && mkdtemp(tmpl) != nullptr) {
      tmpDir_ = tmpl;
    }
  }
  log::info("mqtt_client_starting", {{"client", options_.clientId},
                                     {"broker", uri},
                                     {"protocol", v5() ? "v5" : "v3"},
                                     {"name", options_.name}});
  {
    std::lock_guard<std::mutex> lk(mu_);
    retryTimer_ = timer_->after(std::chrono::milliseconds(0), [this] { connectNow(); });
  }
  return true;
}

void Client::stop(std::chrono::milliseconds timeout) {
  Timer::Id id = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closingFlag_) {
      return;
    }
    closingFlag_ = true;
    id = std::exchange(retryTimer_, 0);
  }
  timer_->cancel(id);
  {
    std::lock_guard<std::mutex> lk(lifeMu_);
    closing_ = true;
  }
  if (tokens_) {
    tokens_->stop();
  }
  if (handle_ != nullptr) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    if (v5()) {
      d = MQTTAsync_disconnectOptions_initializer5;
      d.onSuccess5 = &Client::onDisconnectDone5;
      d.onFailure5 = &Client::onDisconnectFail5;
    } else {
      d.onSuccess = &Client::onDisconnectDone3;
      d.onFailure = &Client::onDisconnectFail3;
    }
    d.context = this;
    d.timeout = static_cast<int>(timeout.count());
    if (MQTTAsync_disconnect(handle_, &d) == MQTTASYNC_SUCCESS) {
      std::unique_lock<std::mutex> lk(disconnectMu_);
      disconnectCv_.wait_for(lk, timeout + std::chrono::milliseconds(200),
                             [this] { return disconnectDone_; });
    }
    MQTTAsync_destroy(&handle_);
    handle_ = nullptr;
  }
  if (connected_.exchange(false) && metrics_ && metrics_->connected) {
    metrics_->connected->Set(0);
  }
  if (tokens_) {
    tokens_.reset();
  }
  if (!tmpDir_.empty()) {
    std::error_code ec;
    fs::remove_all(tmpDir_, ec);
    tmpDir_.clear();
  }
}

ConnectInfo Client::connectInfo() const {
  std::lock_guard<std::mutex> lk(mu_);
  return info_;
}

bool Client::prepareTls() {
  const auto& tls = options_.broker.tls;
  const auto& auth = options_.broker.auth;
  caBundle_.clear();
  keyStore_.clear();
  if (!tls.caFiles.empty()) {
    std::string bundle;
    for (const auto& f : tls.caFiles) {
      auto data = readFile(f);
      if (!data) {
        handleFailure("ca_file_unreadable", f);
        return false;
      }
      bundle += *data;
      if (!bundle.empty() && bundle.back() != '\n') {
        bundle += '\n';
      }
    }
    caBundle_ = tmpDir_ + "/ca-bundle.pem";
    if (tmpDir_.empty() || !writeFile(caBundle_, bundle)) {
      handleFailure("ca_bundle_unwritable", caBundle_);
      return false;
    }
  }
  if (auth.kind == config::AuthSpec::Kind::X509) {
    auto cert = readFile(auth.certFile);
    if (!cert) {
      handleFailure("client_cert_unreadable", auth.certFile);
      return false;
    }
    std::string chain = *cert;
    if (!chain.empty() && chain.back() != '\n') {
      chain += '\n';
    }
    if (!auth.intermediateFile.empty() && fs::exists(auth.intermediateFile)) {
      auto inter = readFile(auth.intermediateFile);
      if (!inter) {
        handleFailure("intermediate_unreadable", auth.intermediateFile);
        return false;
      }
      chain += *inter;
    }
    keyStore_ = tmpDir_ + "/client-chain.pem";
    if (tmpDir_.empty() || !writeFile(keyStore_, chain)) {
      handleFailure("client_chain_unwritable", keyStore_);
      return false;
    }
    if (access(auth.keyFile.c_str(), R_OK) != 0) {
      handleFailure("client_key_unreadable", auth.keyFile);
      return false;
    }
  }
  return true;
}

namespace {

void addString(MQTTProperties& props, enum MQTTPropertyCodes id, const std::string& v) {
  MQTTProperty p;
  std::memset(&p, 0, sizeof p);
  p.identifier = id;
  p.value.data.data = const_cast<char*>(v.data());
  p.value.data.len = static_cast<int>(v.size());
  MQTTProperties_add(&props, &p);
}

}  // namespace

int Client::sslErrorThunk(const char* str, size_t len, void* u) {
  auto* self = static_cast<Client*>(u);
  std::string line(str, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  std::lock_guard<std::mutex> lk(self->mu_);
  self->errorDetail_ = line;
  return 0;
}

void Client::connectNow() {
  std::lock_guard<std::mutex> life(lifeMu_);
  if (closing_ || handle_ == nullptr) {
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    retryTimer_ = 0;
    errorDetail_.clear();
  }
  if (metrics_ && metrics_->connectAttempts) {
    metrics_->connectAttempts->Increment();
  }
  using Kind = config::AuthSpec::Kind;
  const auto& auth = options_.broker.auth;
  const bool ws = options_.broker.transport == config::Transport::WebSocket;

  // Credentials are read at every attempt, so rotated files are picked up on reconnect (that is
  // why the reconnect loop is ours and not Paho's automaticReconnect).
  std::string username, password, authMethod, authData;
  if (auth.kind == Kind::UsernamePassword) {
    auto u = readFile(auth.usernameFile);
    auto p = readFile(auth.passwordFile);
    if (!u || !p) {
      handleFailure("credentials_unreadable", !u ? auth.usernameFile : auth.passwordFile);
      return;
    }
    username = trimNewlines(*u);
    password = trimNewlines(*p);
  } else if (auth.kind == Kind::Kubernetes) {
    auto t = readFile(auth.tokenFile);
    if (!t) {
      handleFailure("token_unreadable", auth.tokenFile);
      return;
    }
    authMethod = "K8S-SAT";
    authData = trimNewlines(*t);
  } else if (auth.kind == Kind::SystemAssignedManagedIdentity) {
    auto t = tokens_->cached();
    if (!t) {
      t = tokens_->takeFresh();
    }
    if (!t) {
      // Fetch on the fetcher's own thread (a blocking HTTP GET), then come back here.
      tokens_->fetchAsync([this](bool ok, const std::string& detail) {
        if (!ok) {
          handleFailure("token_fetch_failed", detail);
        } else {
          std::lock_guard<std::mutex> lk(mu_);
          if (!closingFlag_) {
            retryTimer_ = timer_->after(std::chrono::milliseconds(0), [this] { connectNow(); });
          }
        }
      });
      return;
    }
    authMethod = "OAUTH2-JWT";
    authData = *t;
  }
  if ((!authMethod.empty()) && !v5()) {
    handleFailure("enhanced_auth_needs_v5", authMethod);
    return;
  }
  if (options_.broker.tls.enabled && !prepareTls()) {
    return;
  }

  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  MQTTProperties props = MQTTProperties_initializer;
  if (v5()) {
    if (ws) {
      MQTTAsync_connectOptions w = MQTTAsync_connectOptions_initializer5_ws;
      o = w;
    } else {
      MQTTAsync_connectOptions w = MQTTAsync_connectOptions_initializer5;
      o = w;
    }
    o.cleanstart = options_.persistentSession ? 0 : 1;
    o.cleansession = 0;
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 =
        options_.persistentSession ? static_cast<unsigned>(options_.sessionExpirySeconds) : 0u;
    MQTTProperties_add(&props, &p);
    if (!authMethod.empty()) {
      addString(props, MQTTPROPERTY_CODE_AUTHENTICATION_METHOD, authMethod);
      addString(props, MQTTPROPERTY_CODE_AUTHENTICATION_DATA, authData);
    }
    o.connectProperties = &props;
    o.onSuccess5 = &Client::onConnectSuccess5;
    o.onFailure5 = &Client::onConnectFailure5;
  } else {
    if (ws) {
      MQTTAsync_connectOptions w = MQTTAsync_connectOptions_initializer_ws;
      o = w;
    }
    o.MQTTVersion = MQTTVERSION_3_1_1;
    o.cleansession = options_.persistentSession ? 0 : 1;
    o.onSuccess = &Client::onConnectSuccess3;
    o.onFailure = &Client::onConnectFailure3;
  }
  o.context = this;
  o.keepAliveInterval = options_.keepAliveSeconds;
  o.connectTimeout = static_cast<int>(options_.connectTimeout.count());
  o.automaticReconnect = 0;
  o.maxInflight = std::max(1, options_.maxInflight);
  if (auth.kind == Kind::UsernamePassword) {
    o.username = username.c_str();
    o.binarypwd.data = password.data();
    o.binarypwd.len = static_cast<int>(password.size());
  }
  MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
  if (!options_.will.topic.empty()) {
    will.topicName = options_.will.topic.c_str();
    will.payload.data = options_.will.payload.data();
    will.payload.len = static_cast<int>(options_.will.payload.size());
    will.message = nullptr;
    will.qos = options_.will.qos;
    will.retained = options_.will.retain ? 1 : 0;
    o.will = &will;
  }
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (options_.broker.tls.enabled) {
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1;  // hostname / IP check (Paho skips it otherwise)
    if (!caBundle_.empty()) {
      ssl.trustStore = caBundle_.c_str();
    }
    if (auth.kind == Kind::X509) {
      ssl.keyStore = keyStore_.c_str();
      ssl.privateKey = auth.keyFile.c_str();
    }
    ssl.ssl_error_cb = &Client::sslErrorThunk;
    ssl.ssl_error_context = this;
    o.ssl = &ssl;
  }
  const int rc = MQTTAsync_connect(handle_, &o);
  MQTTProperties_free(&props);
  std::fill(password.begin(), password.end(), '\0');
  std::fill(authData.begin(), authData.end(), '\0');
  if (rc != MQTTASYNC_SUCCESS) {
    handleFailure("connect_call_failed", MQTTAsync_strerror(rc));
  }
}

void Client::onConnectSuccess5(void* ctx, MQTTAsync_successData5* r) {
  auto* self = static_cast<Client*>(ctx);
  ConnectInfo info;
  info.v5 = true;
  if (r != nullptr) {
    info.sessionPresent = r->alt.connect.sessionPresent != 0;
    if (MQTTProperties_hasProperty(&r->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
      info.receiveMaximum = static_cast<std::uint16_t>(
          MQTTProperties_getNumericValue(&r->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM));
    }
    if (MQTTProperties_hasProperty(&r->properties, MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE)) {
      info.maximumPacketSize = static_cast<std::uint32_t>(
          MQTTProperties_getNumericValue(&r->properties, MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE));
    }
  }
  self->handleConnected(info);
}

void Client::onConnectSuccess3(void* ctx, MQTTAsync_successData* r) {
  auto* self = static_cast<Client*>(ctx);
  ConnectInfo info;
  info.v5 = false;
  if (r != nullptr) {
    info.sessionPresent = r->alt.connect.sessionPresent != 0;
  }
  self->handleConnected(info);
}

void Client::onConnectFailure5(void* ctx, MQTTAsync_failureData5* r) {
  auto* self = static_cast<Client*>(ctx);
  std::string reason = "transport_error";
  std::string detail;
  if (r != nullptr) {
    if (r->reasonCode != MQTTREASONCODE_SUCCESS) {
      reason = reasonName(r->reasonCode);
    } else if (r->code > 0) {
      reason = reasonName(r->code);  // a refusing CONNACK's reason code arrives as `code`
    }
    if (r->message != nullptr) {
      detail = r->message;
    }
  }
  self->handleFailure(reason, detail);
}

void Client::onConnectFailure3(void* ctx, MQTTAsync_failureData* r) {
  auto* self = static_cast<Client*>(ctx);
  std::string reason = "transport_error";
  std::string detail;
  if (r != nullptr) {
    if (r->code > 0) {
      reason = v3ConnackName(r->code);
    }
    if (r->message != nullptr) {
      detail = r->message;
    }
  }
  self->handleFailure(reason, detail);
}

void Client::onConnectionLost(void* ctx, char* cause) {
  auto* self = static_cast<Client*>(ctx);
  self->handleLost(cause != nullptr ? snake(cause) : "connection_lost");
  if (cause != nullptr) {
    MQTTAsync_free(cause);
  }
}

void Client::onDisconnected(void* ctx, MQTTProperties* /*props*/, enum MQTTReasonCodes rc) {
  auto* self = static_cast<Client*>(ctx);
  self->handleLost("server_disconnect_" + reasonName(rc));
}

int Client::onMessageArrived(void* ctx, char* topic, int topicLen, MQTTAsync_message* m) {
  auto* self = static_cast<Client*>(ctx);
  if (self->listener_ != nullptr) {
    self->listener_->onMessage(topic, topicLen, m);
  } else {
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
  }
  return 1;  // always: 0 would make Paho redeliver later and block everything behind it
}

void Client::onDisconnectDone5(void* ctx, MQTTAsync_successData5* /*r*/) {
  static_cast<Client*>(ctx)->disconnectDone();
}
void Client::onDisconnectFail5(void* ctx, MQTTAsync_failureData5* /*r*/) {
  static_cast<Client*>(ctx)->disconnectDone();
}
void Client::onDisconnectDone3(void* ctx, MQTTAsync_successData* /*r*/) {
  static_cast<Client*>(ctx)->disconnectDone();
}
void Client::onDisconnectFail3(void* ctx, MQTTAsync_failureData* /*r*/) {
  static_cast<Client*>(ctx)->disconnectDone();
}

void Client::disconnectDone() {
  {
    std::lock_guard<std::mutex> lk(disconnectMu_);
    disconnectDone_ = true;
  }
  disconnectCv_.notify_all();
}

void Client::handleConnected(const ConnectInfo& info) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    info_ = info;
    connectedAt_ = Timer::Clock::now();
    if (closingFlag_) {
      return;
    }
  }
  connected_.store(true, std::memory_order_release);
  const auto n = connections_.fetch_add(1) + 1;
  if (metrics_) {
    if (metrics_->connected) {
      metrics_->connected->Set(1);
    }
    if (n > 1 && metrics_->reconnects) {
      metrics_->reconnects->Increment();
    }
  }
  setState("connected", "", false);
  if (listener_ != nullptr) {
    listener_->onConnected(info);
  }
}

void Client::handleFailure(const std::string& reason, const std::string& detail) {
  std::string d = detail;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!errorDetail_.empty()) {
      d += d.empty() ? errorDetail_ : ": " + errorDetail_;
    }
  }
  if (metrics_) {
    countFailure(*metrics_, reason, d);
  }
  setState("connect_failed:" + reason, d, true);
  scheduleReconnect();
}

void Client::handleLost(const std::string& reason) {
  if (!connected_.exchange(false)) {
    return;
  }
  if (metrics_ && metrics_->connected) {
    metrics_->connected->Set(0);
  }
  if (metrics_) {
    metrics_->failure(metrics::ConnectFailure::Lost);
  }
  setState("connection_lost", reason, true);
  if (listener_ != nullptr) {
    listener_->onConnectionLost();
  }
  scheduleReconnect();
}

void Client::scheduleReconnect() {
  std::lock_guard<std::mutex> lk(mu_);
  if (closingFlag_ || retryTimer_ != 0) {
    return;
  }
  const auto now = Timer::Clock::now();
  if (connectedAt_ != Timer::Clock::time_point{} && now - connectedAt_ >= options_.stableAfter) {
    attempt_ = 0;  // the last connection was stable: start the backoff again
  }
  connectedAt_ = {};
  long long delay = options_.minRetry.count();
  for (int i = 0; i < attempt_ && delay < options_.maxRetry.count(); ++i) {
    delay *= 2;
  }
  delay = std::min<long long>(delay, options_.maxRetry.count());
  ++attempt_;
  const int ms = jitterMs(static_cast<int>(delay));
  log::debug("mqtt_reconnect_scheduled",
             {{"client", options_.clientId}, {"delay_ms", ms}, {"attempt", attempt_}});
  retryTimer_ = timer_->after(std::chrono::milliseconds(ms), [this] { connectNow(); });
}

void Client::setState(const std::string& state, const std::string& detail, bool failure) {
  bool changed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    changed = state != lastState_;
    lastState_ = state;
  }
  const std::string uri = brokerUri(options_.broker);
  if (!changed) {
    log::debug("mqtt_state", {{"client", options_.clientId}, {"state", state}, {"detail", detail}});
    return;
  }
  if (state == "connected") {
    const ConnectInfo info = connectInfo();
    log::info("mqtt_connected", {{"client", options_.clientId},
                                 {"broker", uri},
                                 {"name", options_.name},
                                 {"session_present", info.sessionPresent ? "true" : "false"},
                                 {"receive_maximum", static_cast<int>(info.receiveMaximum)},
                                 {"maximum_packet_size", info.maximumPacketSize}});
  } else if (failure) {
    log::warn(state == "connection_lost" ? "mqtt_connection_lost" : "mqtt_connect_failed",
              {{"client", options_.clientId},
               {"broker", uri},
               {"name", options_.name},
               {"reason", state == "connection_lost" ? detail : state.substr(15)},
               {"detail", state == "connection_lost" ? "" : detail}});
  }
}

}  // namespace mqb::sources

#include "sources/mqtt/client.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "metrics/log.h"
#include "sources/mqtt/token_fetcher.h"
#include "sources/mqtt/wire/transport.h"

namespace mqb::sources {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Most PUBLISHes handed to the listener at once.
constexpr std::size_t kMaxBatch = 512;

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

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

/// The bounded `reason` label of mqbridge_client_connect_failures_total for a failure reason
/// (a CONNACK reason name, a transport failure or one of this file's own names) and its detail.
metrics::ConnectFailure classifyFailure(std::string_view reason, std::string_view detail) {
  auto has = [](std::string_view s, std::string_view what) {
    return s.find(what) != std::string_view::npos;
  };
  if (has(reason, "tls") || has(reason, "ca_") || has(reason, "client_cert") ||
      has(reason, "client_key") || has(reason, "intermediate") || has(detail, "SSL") ||
      has(detail, "TLS") || has(detail, "certificate")) {
    return metrics::ConnectFailure::Tls;
  }
  if (has(reason, "not_authorized") || has(reason, "user_name_or_password") ||
      has(reason, "username_or_password") || has(reason, "banned") ||
      has(reason, "authentication") || has(reason, "credentials") || has(reason, "token")) {
    return metrics::ConnectFailure::NotAuthorized;
  }
  if (has(reason, "protocol") || has(reason, "malformed") || has(reason, "enhanced_auth") ||
      has(reason, "unexpected") || has(reason, "websocket")) {
    return metrics::ConnectFailure::Protocol;
  }
  if (has(reason, "dns") || has(reason, "tcp") || has(reason, "timeout") || has(reason, "closed") ||
      has(reason, "socket") || has(reason, "disconnect") || reason == "transport_error") {
    return metrics::ConnectFailure::Network;
  }
  if (!reason.empty()) {
    return metrics::ConnectFailure::Refused;  // any other reason the broker's CONNACK gave
  }
  return metrics::ConnectFailure::Other;
}

int jitterMs(int ms) {
  thread_local std::mt19937 rng{std::random_device{}()};
  if (ms <= 1) {
    return ms;
  }
  std::uniform_int_distribution<int> d(ms / 2, ms);
  return d(rng);
}

void scrub(std::string& s) { std::fill(s.begin(), s.end(), '\0'); }

int msUntil(Clock::time_point t) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(d, 0, 60'000));
}

void drainEventFd(int fd) {
  std::uint64_t v = 0;
  while (read(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

}  // namespace

void ClientListener::onMessage(pipeline::Message&& /*message*/) noexcept {}
void ClientListener::onMessages(std::vector<pipeline::Message>& batch) noexcept {
  for (auto& m : batch) {
    onMessage(std::move(m));
  }
}
void ClientListener::onPublished(std::uint64_t /*cookie*/, std::uint8_t /*reasonCode*/) noexcept {}
void ClientListener::onPublishedBatch(
    std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept {
  for (const auto& [cookie, reasonCode] : results) {
    onPublished(cookie, reasonCode);
  }
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
  if (code < 0 || code > 255) {
    return "reason_" + std::to_string(code);
  }
  return wire::reasonName(static_cast<std::uint8_t>(code));
}

Client::Client(ClientOptions options, ClientListener* listener, metrics::ClientMetrics* metrics)
    : options_(std::move(options)),
      listener_(listener),
      metrics_(metrics),
      version_(options_.version == config::MqttVersion::V5 ? wire::Version::V5
                                                           : wire::Version::V311) {}

Client::~Client() { stop(std::chrono::milliseconds(200)); }

bool Client::start() {
  if (thread_.joinable()) {
    return true;
  }
  if (options_.clientId.empty() || options_.broker.host.empty() || options_.broker.port == 0) {
    log::error("mqtt_client_create_failed", {{"client", options_.clientId},
                                             {"broker", brokerUri(options_.broker)},
                                             {"error", "client id, host and port are required"}});
    return false;
  }
  wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd_ < 0) {
    log::error("mqtt_client_create_failed",
               {{"client", options_.clientId}, {"error", std::strerror(errno)}});
    return false;
  }
  {
    // A start() after stop() connects again (used to pause a subscriber for backpressure).
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = false;
    open_ = false;
    wakePending_ = false;
    attempt_ = 0;
    holdReads_.store(false);
    out_.clear();
    inflight_.clear();
  }
  if (options_.broker.auth.kind == config::AuthSpec::Kind::SystemAssignedManagedIdentity &&
      !tokens_) {
    tokens_ =
        std::make_unique<TokenFetcher>(options_.identityEndpoint, options_.broker.auth.audience);
  }
  log::info("mqtt_client_starting", {{"client", options_.clientId},
                                     {"broker", brokerUri(options_.broker)},
                                     {"protocol", v5() ? "v5" : "v3"},
                                     {"name", options_.name}});
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
  return true;
}

void Client::stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) {
    return;
  }
  if (std::this_thread::get_id() == thread_.get_id()) {
    log::error("mqtt_client_stop_from_callback", {{"client", options_.clientId}});
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = true;
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = true;
    stopTimeout_ = timeout;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = write(wakeFd_, &one, sizeof one);
  thread_.join();
  thread_ = std::thread();
  close(wakeFd_);
  wakeFd_ = -1;
  running_.store(false, std::memory_order_release);
  if (connected_.exchange(false) && metrics_ && metrics_->connected) {
    metrics_->connected->Set(0);
  }
}

bool Client::closing() const {
  std::lock_guard<std::mutex> lk(mu_);
  return closing_;
}

ConnectInfo Client::connectInfo() const {
  std::lock_guard<std::mutex> lk(mu_);
  return info_;
}

void Client::kick() noexcept {
  if (std::this_thread::get_id() == ioThread_) {
    return;  // a callback: the I/O thread writes out_ right after it
  }
  if (ioMu_.try_lock()) {
    directSend();
    ioMu_.unlock();
    return;
  }
  std::lock_guard<std::mutex> lk(mu_);  // the I/O thread is busy with the transport: tell it
  wakeLocked();
}

void Client::directSend() noexcept {
  std::size_t waiting = 0;
  std::uint16_t receiveMaximum = 0;
  bool subscribed = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!open_ || out_.empty()) {
      return;  // not connected (the transport may be going away), or someone sent it already
    }
    directBuf_.swap(out_);
    waiting = inflight_.size();
    receiveMaximum = info_.receiveMaximum;
    subscribed = subscribed_;
  }
  adjustLowWaterLocked(waiting, receiveMaximum, subscribed);
  transport_->queue(directBuf_);
  if (transport_->flush() != wire::Transport::Io::Ok) {
    // The socket is full (or failed): the I/O thread polls for it and sees the error.
    std::lock_guard<std::mutex> lk(mu_);
    wakeLocked();
  }
}

void Client::wakeLocked() {
  if (wakePending_ || std::this_thread::get_id() == ioThread_) {
    return;  // the I/O thread looks at out_ before it sleeps again
  }
  wakePending_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = write(wakeFd_, &one, sizeof one);
}

bool Client::allocIdLocked(std::uint16_t& id) {
  if (inflight_.size() >= 65535) {
    return false;
  }
  for (;;) {
    const std::uint16_t candidate = nextId_;
    nextId_ = static_cast<std::uint16_t>(nextId_ == 65535 ? 1 : nextId_ + 1);
    if (inflight_.find(candidate) == inflight_.end()) {
      id = candidate;
      return true;
    }
  }
}

Client::Send Client::publish(const Publish& p, std::uint64_t cookie) noexcept {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!open_ || closing_) {
      return Send::Disconnected;
    }
    std::uint16_t id = 0;
    if (p.qos > 0) {
      if (!allocIdLocked(id)) {
        return Send::NoPacketId;
      }
      inflight_.emplace(id, Inflight{cookie, nullptr});
    }
    const bool v5 = version_ == wire::Version::V5;
    wire::encodePublish(version_, p.topic, p.payload, p.qos, p.retain, false, id,
                        v5 ? p.props : nullptr, v5 ? p.marker : nullptr, p.expiry, out_);
  }
  if (!p.defer) {
    kick();
  }
  return Send::Ok;
}

std::size_t Client::publishSize(const Publish& p) const noexcept {
  const bool v5 = version_ == wire::Version::V5;
  return wire::publishSize(version_, p.topic, p.payload.size(), p.qos, v5 ? p.props : nullptr,
                           v5 ? p.marker : nullptr, p.expiry);
}

template <typename Encode>
Client::Send Client::request(Done done, Encode encode) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!open_ || closing_) {
      return Send::Disconnected;
    }
    std::uint16_t id = 0;
    if (!allocIdLocked(id)) {
      return Send::NoPacketId;
    }
    inflight_.emplace(id, Inflight{0, std::move(done)});
    encode(id);
  }
  kick();
  return Send::Ok;
}

Client::Send Client::subscribe(const std::string& filter, const wire::SubscribeOptions& o,
                               Done done) {
  return request(std::move(done), [&](std::uint16_t id) {
    subscribed_ = true;  // from now on every PUBLISH must wake the I/O thread
    wire::encodeSubscribe(version_, id, filter, o, out_);
  });
}

Client::Send Client::unsubscribe(const std::string& filter, Done done) {
  return request(std::move(done),
                 [&](std::uint16_t id) { wire::encodeUnsubscribe(version_, id, filter, out_); });
}

// ---- I/O thread ---------------------------------------------------------------------------------

void Client::run() noexcept {
  // "mqb-io-<client id>" (15 bytes at most) names the thread in top, perf and /proc.
  pthread_setname_np(pthread_self(), ("io-" + options_.clientId).substr(0, 15).c_str());
  {
    std::lock_guard<std::mutex> lk(mu_);
    ioThread_ = std::this_thread::get_id();
  }
  try {
    while (!closing()) {
      if (connectOnce()) {
        serve();
      }
      transport_.reset();
      if (closing()) {
        break;
      }
      waitBackoff();
    }
  } catch (const std::exception& e) {
    // Nothing in the loop throws by design; an allocation failure ends this client, loudly.
    log::error("mqtt_client_thread_failed", {{"client", options_.clientId}, {"error", e.what()}});
  }
  transport_.reset();
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;
    ioThread_ = std::thread::id();
  }
}

bool Client::connectOnce() {
  drainEventFd(wakeFd_);
  if (closing()) {
    return false;
  }
  if (metrics_ && metrics_->connectAttempts) {
    metrics_->connectAttempts->Increment();
  }
  using Kind = config::AuthSpec::Kind;
  const auto& auth = options_.broker.auth;
  const bool v5 = version_ == wire::Version::V5;

  wire::ConnectPacket cp;
  cp.version = version_;
  cp.clientId = options_.clientId;
  cp.cleanStart = !options_.persistentSession;
  cp.keepAliveSeconds = static_cast<std::uint16_t>(std::clamp(options_.keepAliveSeconds, 0, 65535));
  if (v5 && options_.persistentSession) {
    cp.sessionExpirySeconds =
        static_cast<std::uint32_t>(std::max(0, options_.sessionExpirySeconds));
  }
  // Credentials are read at every attempt, so rotated files are picked up on reconnect.
  if (auth.kind == Kind::UsernamePassword) {
    auto u = readFile(auth.usernameFile);
    auto p = readFile(auth.passwordFile);
    if (!u || !p) {
      handleFailure("credentials_unreadable", !u ? auth.usernameFile : auth.passwordFile);
      return false;
    }
    cp.username = trimNewlines(*u);
    cp.password = trimNewlines(*p);
    scrub(*p);
  } else if (auth.kind == Kind::Kubernetes) {
    auto t = readFile(auth.tokenFile);
    if (!t) {
      handleFailure("token_unreadable", auth.tokenFile);
      return false;
    }
    cp.authMethod = "K8S-SAT";
    cp.authData = trimNewlines(*t);
    scrub(*t);
  } else if (auth.kind == Kind::SystemAssignedManagedIdentity) {
    auto t = tokens_->cached();
    if (!t) {
      t = tokens_->takeFresh();
    }
    if (!t) {
      std::string error;
      t = tokens_->fetchNow(error);  // this client's own thread: a blocking GET is fine here
      if (!t) {
        handleFailure("token_fetch_failed", error);
        return false;
      }
    }
    cp.authMethod = "OAUTH2-JWT";
    cp.authData = *t;
    scrub(*t);
  }
  if (!cp.authMethod.empty() && !v5) {
    handleFailure("enhanced_auth_needs_v5", cp.authMethod);
    return false;
  }
  if (!options_.will.topic.empty()) {
    cp.will = wire::Will{options_.will.topic, options_.will.payload,
                         static_cast<std::uint8_t>(std::clamp(options_.will.qos, 0, 2)),
                         options_.will.retain};
  }

  wire::TransportOptions to;
  to.host = options_.broker.host;
  to.port = options_.broker.port;
  to.tls = options_.broker.tls.enabled;
  to.websocket = options_.broker.transport == config::Transport::WebSocket;
  if (to.tls) {
    for (const auto& f : options_.broker.tls.caFiles) {
      if (!readable(f)) {
        handleFailure("ca_file_unreadable", f);
        return false;
      }
    }
    to.caFiles = options_.broker.tls.caFiles;
    if (auth.kind == Kind::X509) {
      if (!readable(auth.certFile)) {
        handleFailure("client_cert_unreadable", auth.certFile);
        return false;
      }
      if (!readable(auth.keyFile)) {
        handleFailure("client_key_unreadable", auth.keyFile);
        return false;
      }
      std::error_code ec;
      if (!auth.intermediateFile.empty() && fs::exists(auth.intermediateFile, ec)) {
        if (!readable(auth.intermediateFile)) {
          handleFailure("intermediate_unreadable", auth.intermediateFile);
          return false;
        }
        to.intermediateFile = auth.intermediateFile;
      }
      to.certFile = auth.certFile;
      to.keyFile = auth.keyFile;
    }
  }

  const auto deadline = Clock::now() + options_.connectTimeout;
  wire::ConnectError err;
  transport_ = wire::connectTransport(to, deadline, wakeFd_, err);
  lowWater_ = 1;  // a new socket
  lowWaterMayRise_ = false;
  if (!transport_) {
    scrub(cp.authData);
    if (cp.password) {
      scrub(*cp.password);
    }
    if (err.reason != "aborted" || !closing()) {
      handleFailure(err.reason.empty() ? "transport_error" : err.reason, err.detail);
    }
    return false;
  }
  std::string pkt;
  wire::encodeConnect(cp, pkt);
  scrub(cp.authData);
  if (cp.password) {
    scrub(*cp.password);
  }
  transport_->queue(pkt);
  decoder_.reset();
  acks_.clear();
  sendBuf_.clear();
  lostReason_.clear();
  if (!writeAll(deadline)) {
    handleFailure(lostReason_.empty() ? "transport_error" : lostReason_, transport_->error());
    lostReason_.clear();
    transport_.reset();
    return false;
  }

  // Wait for CONNACK (broker messages may follow it in the same read: they stay in the decoder).
  for (;;) {
    wire::Packet p{};
    const auto st = decoder_.next(p);
    if (st == wire::Decoder::Status::Error) {
      handleFailure("malformed_packet", decoder_.error());
      transport_.reset();
      return false;
    }
    if (st == wire::Decoder::Status::Ok) {
      if (p.type != wire::PacketType::Connack) {
        handleFailure(p.type == wire::PacketType::Auth ? "enhanced_auth_continue_unsupported"
                                                       : "unexpected_packet_before_connack",
                      "");
        transport_.reset();
        return false;
      }
      wire::Connack ca;
      std::string perr;
      if (!wire::parseConnack(version_, p.body, ca, &perr)) {
        handleFailure("malformed_connack", perr);
        transport_.reset();
        return false;
      }
      if (ca.reasonCode != 0) {
        handleFailure(v5 ? wire::reasonName(ca.reasonCode) : wire::v3ConnackName(ca.reasonCode),
                      ca.reasonString);
        transport_.reset();
        return false;
      }
      ConnectInfo info;
      info.v5 = v5;
      info.sessionPresent = ca.sessionPresent;
      info.receiveMaximum = v5 ? std::max<std::uint16_t>(1, ca.receiveMaximum) : 65535;
      info.maximumPacketSize = v5 ? ca.maximumPacketSize : 0;
      {
        std::lock_guard<std::mutex> lk(mu_);
        open_ = true;
        out_.clear();
        inflight_.clear();
        nextId_ = 1;
        subscribed_ = false;
        info_ = info;
        connectedAt_ = Clock::now();
      }
      lastSent_ = Clock::now();
      pingOutstanding_ = false;
      handleConnected(info);
      return true;
    }
    pollfd fds[2] = {{transport_->fd(), transport_->pollEvents(), 0}, {wakeFd_, POLLIN, 0}};
    const int n = poll(fds, 2, msUntil(deadline));
    if (n < 0 && errno != EINTR) {
      handleFailure("socket_error", std::strerror(errno));
      transport_.reset();
      return false;
    }
    if (fds[1].revents & POLLIN) {
      drainEventFd(wakeFd_);
      if (closing()) {
        transport_.reset();
        return false;
      }
    }
    if (transport_->hasPendingOutput() && !writeAll(deadline)) {
      handleFailure(lostReason_.empty() ? "transport_error" : lostReason_, transport_->error());
      lostReason_.clear();
      transport_.reset();
      return false;
    }
    if (fds[0].revents != 0) {
      for (;;) {
        const auto io = transport_->read(decoder_.buffer());
        if (io == wire::Transport::Io::WouldBlock) {
          break;
        }
        if (io == wire::Transport::Io::Ok) {
          continue;
        }
        if (decoder_.buffered() > 0) {
          break;  // a refusing CONNACK followed by the broker closing: read the CONNACK first
        }
        handleFailure(io == wire::Transport::Io::Closed ? "connection_closed_before_connack"
                                                        : "transport_error",
                      transport_->error());
        transport_.reset();
        return false;
      }
    }
    if (n == 0 && Clock::now() >= deadline) {
      handleFailure("connack_timeout", "no CONNACK within the connect timeout");
      transport_.reset();
      return false;
    }
  }
}

bool Client::writeAll(Clock::time_point deadline) {
  for (;;) {
    const auto io = transport_->flush();
    if (io == wire::Transport::Io::Ok) {
      lastSent_ = Clock::now();
      return true;
    }
    if (io != wire::Transport::Io::WouldBlock) {
      lostReason_ = io == wire::Transport::Io::Closed ? "connection_closed" : "socket_error";
      return false;
    }
    const int ms = msUntil(deadline);
    if (ms <= 0) {
      lostReason_ = "write_timeout";
      return false;
    }
    pollfd fd{transport_->fd(), transport_->pollEvents(), 0};
    if (poll(&fd, 1, ms) < 0 && errno != EINTR) {
      lostReason_ = "socket_error";
      return false;
    }
    if ((fd.revents & POLLIN) != 0 && (fd.revents & POLLOUT) == 0) {
      // TLS may need to read to make progress; keep what it reads for the decoder.
      if (transport_->read(decoder_.buffer()) == wire::Transport::Io::Error) {
        lostReason_ = "socket_error";
        return false;
      }
    }
  }
}

void Client::drainUntilClosed(Clock::time_point deadline) {
  // Closing a socket that still holds unread data makes the kernel send RST instead of FIN, and
  // the broker then discards what it had not read yet: our last PUBACKs and the DISCONNECT. The
  // broker would redeliver those messages (duplicates) and publish the will. So read (and drop)
  // until the broker, having read the DISCONNECT, closes its end.
  std::string discard;
  for (;;) {
    const auto io = transport_->read(discard);
    discard.clear();
    if (io == wire::Transport::Io::Closed || io == wire::Transport::Io::Error) {
      return;
    }
    if (io == wire::Transport::Io::WouldBlock) {
      const int ms = msUntil(deadline);
      if (ms <= 0) {
        return;
      }
      pollfd fd{transport_->fd(), POLLIN, 0};
      if (poll(&fd, 1, ms) <= 0) {
        return;
      }
    }
  }
}

void Client::serve() {
  using Io = wire::Transport::Io;
  const auto keepAlive = std::chrono::seconds(std::max(0, options_.keepAliveSeconds));
  // Reading at most this much before handling output keeps acks and publishes flowing while a
  // broker sends a large backlog.
  constexpr std::size_t kReadBudget = 256 * 1024;
  for (;;) {
    // 1. Every complete packet received so far.
    for (;;) {
      wire::Packet p{};
      const auto st = decoder_.next(p);
      if (st == wire::Decoder::Status::NeedMore) {
        break;
      }
      if (st == wire::Decoder::Status::Error) {
        deliverBatch();  // what arrived intact is passed on (unacknowledged: it comes again)
        deliverAcked();
        dropConnection("malformed_packet: " + decoder_.error());
        return;
      }
      dispatch(p);
      if (!lostReason_.empty()) {
        deliverBatch();
        deliverAcked();
        dropConnection(lostReason_);
        return;
      }
    }
    deliverBatch();
    deliverAcked();
    // 2. Everything queued: our acks first, then what other threads (or callbacks) queued.
    // ioMu_ before mu_, as in directSend(): whoever takes out_ also writes it, so publishes
    // keep their order whichever thread sends them.
    bool closingNow;
    const char* failed = nullptr;
    short events = 0;
    int fd = -1;
    std::size_t waiting = 0;
    bool subscribed = true;
    std::uint16_t receiveMaximum = 0;
    auto now = Clock::now();
    {
      std::lock_guard<std::mutex> ioLock(ioMu_);
      {
        std::lock_guard<std::mutex> lk(mu_);
        closingNow = closing_;
        wakePending_ = false;
        waiting = inflight_.size();
        subscribed = subscribed_;
        receiveMaximum = info_.receiveMaximum;
        if (!out_.empty()) {
          sendBuf_.swap(out_);
        }
        if (closingNow) {
          open_ = false;  // from here on publishers neither queue nor touch the transport
          inflight_.clear();
        }
      }
      if (!acks_.empty()) {
        transport_->queue(acks_);
      }
      if (!sendBuf_.empty()) {
        transport_->queue(sendBuf_);
      }
      if (closingNow) {
        std::chrono::milliseconds grace;
        {
          std::lock_guard<std::mutex> lk(mu_);
          grace = stopTimeout_;
        }
        std::string bye;
        wire::encodeDisconnect(version_, 0, std::nullopt, bye);
        transport_->queue(bye);
        if (writeAll(Clock::now() + grace)) {
          transport_->shutdown();
          drainUntilClosed(Clock::now() + std::min(grace, std::chrono::milliseconds(2000)));
        }
        transport_.reset();
      } else {
        if (keepAlive.count() > 0) {
          if (pingOutstanding_ && now - pingSentAt_ > keepAlive) {
            failed = "keep_alive_timeout";
          } else if (!pingOutstanding_ && now - lastSent_ >= keepAlive) {
            std::string ping;
            wire::encodePingreq(ping);
            transport_->queue(ping);
            pingOutstanding_ = true;
            pingSentAt_ = now;
          }
        }
        if (failed == nullptr && transport_->hasPendingOutput()) {
          const auto io = transport_->flush();
          if (io == Io::Closed || io == Io::Error) {
            failed = io == Io::Closed ? "connection_closed" : "socket_error";
          }
          lastSent_ = now;
        }
        events = transport_->pollEvents();
        if (holdReads_.load(std::memory_order_acquire)) {
          events = static_cast<short>(events & ~POLLIN);  // the listener asked for a pause
        }
        fd = transport_->fd();
        // A publisher's acknowledgements come one small packet at a time: wake for several. A
        // paced sleep does not wait for POLLIN at all: leave the mark as it is (no syscall).
        const bool pacing = paceUs_.load(std::memory_order_relaxed) > 0;
        lowWaterMayRise_ = !subscribed && !pingOutstanding_ && !pacing;
        lowWaterHave_ = decoder_.buffered();
        if (!pacing) {
          const int lowWater =
              lowWaterMayRise_ ? ackLowWater(waiting, receiveMaximum, lowWaterHave_) : 1;
          if (lowWater != lowWater_) {
            lowWater_ = transport_->setReceiveLowWater(lowWater) ? lowWater : 1;
          }
        }
      }
    }
    if (closingNow) {
      if (connected_.exchange(false) && metrics_ && metrics_->connected) {
        metrics_->connected->Set(0);
      }
      return;
    }
    if (failed != nullptr) {
      dropConnection(failed);
      return;
    }
    // 3. Sleep until the socket, another thread or the keep-alive needs us.
    int timeout = -1;
    if (keepAlive.count() > 0) {
      const auto next = pingOutstanding_ ? pingSentAt_ + keepAlive : lastSent_ + keepAlive;
      timeout = msUntil(next) + 1;
    }
    // A paced sleep ends on a timer (or output, a hang-up, a wake), not on the first byte.
    const std::int64_t paceUs = paceUs_.exchange(0, std::memory_order_relaxed);
    const bool paced = paceUs > 0 && (events & POLLIN) != 0;
    int n;
    pollfd fds[2] = {{fd, events, 0}, {wakeFd_, POLLIN, 0}};
    if (paced) {
      pacedSleeps_.fetch_add(1, std::memory_order_relaxed);
      fds[0].events = static_cast<short>(events & ~POLLIN);
      std::int64_t us = paceUs;
      if (timeout >= 0) {
        us = std::min<std::int64_t>(us, std::int64_t{timeout} * 1000);
      }
      const timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
      n = ppoll(fds, 2, &ts, nullptr);
    } else {
      n = poll(fds, 2, timeout);
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      dropConnection("socket_error");
      return;
    }
    if (fds[1].revents & POLLIN) {
      drainEventFd(wakeFd_);
    }
    if ((paced || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) &&
        !holdReads_.load(std::memory_order_acquire)) {
      std::size_t budget = kReadBudget;
      std::lock_guard<std::mutex> ioLock(ioMu_);
      for (;;) {
        const std::size_t before = decoder_.buffered();
        const auto io = transport_->read(decoder_.buffer());
        if (io == Io::WouldBlock) {
          break;
        }
        if (io == Io::Closed || io == Io::Error) {
          failed = io == Io::Closed ? "connection_closed" : "socket_error";
          break;
        }
        const std::size_t got = decoder_.buffered() - before;
        if (got >= budget) {
          break;
        }
        budget -= got;
      }
    }
    if (failed != nullptr) {
      dropConnection(failed);
      return;
    }
  }
}

std::size_t Client::windowFor(std::uint16_t receiveMaximum) const noexcept {
  const std::size_t rm = std::max<std::size_t>(1, receiveMaximum);
  return options_.sendWindow == 0 ? rm : std::min(options_.sendWindow, rm);
}

int Client::ackLowWater(std::size_t waiting, std::uint16_t receiveMaximum,
                        std::size_t have) const noexcept {
  constexpr std::size_t kMinAck = 4;  // fixed header + packet id: PUBACK, PUBREC, PUBCOMP
  constexpr std::size_t kMaxAcksPerWake = 32;
  const std::size_t window = windowFor(receiveMaximum);
  if (waiting == 0 || waiting >= window) {
    return 1;
  }
  const std::size_t acks =
      std::min({waiting, std::max<std::size_t>(1, window / 4), kMaxAcksPerWake});
  const std::size_t want = kMinAck * acks;
  return want > have ? static_cast<int>(want - have) : 1;
}

void Client::adjustLowWaterLocked(std::size_t waiting, std::uint16_t receiveMaximum,
                                  bool subscribed) noexcept {
  if (!transport_) {
    return;
  }
  if (subscribed || waiting >= windowFor(receiveMaximum)) {
    if (lowWater_ > 1) {
      // Linux re-checks the socket at once: a poll waiting on the old mark wakes if data is there.
      transport_->setReceiveLowWater(1);
      lowWater_ = 1;
    }
    return;
  }
  if (!lowWaterMayRise_) {
    return;
  }
  // The I/O thread set the mark for the packets in flight when it went to sleep, often only one
  // or two; those sent since then let it sleep for more. Only doubling steps are worth a syscall.
  const int want = ackLowWater(waiting, receiveMaximum, lowWaterHave_);
  if (want >= 2 * lowWater_ && transport_->setReceiveLowWater(want)) {
    lowWater_ = want;
  }
}

void Client::deliverAcked() {
  if (acked_.empty()) {
    return;
  }
  published_.clear();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [id, rc] : acked_) {
      auto it = inflight_.find(id);
      if (it == inflight_.end() || it->second.done) {
        continue;  // not ours (or a protocol slip by the broker): nothing to settle
      }
      published_.emplace_back(it->second.cookie, rc);
      inflight_.erase(it);
    }
  }
  acked_.clear();
  if (listener_ != nullptr && !published_.empty()) {
    listener_->onPublishedBatch(published_);
  }
}

void Client::deliverBatch() {
  if (batch_.empty()) {
    return;
  }
  if (listener_ != nullptr) {
    listener_->onMessages(batch_);
  }
  batch_.clear();
  for (const auto& [id, qos] : batchAcks_) {
    if (qos == 1) {
      wire::encodeAck(version_, wire::PacketType::Puback, id, 0, acks_);
    } else if (qos == 2) {
      wire::encodeAck(version_, wire::PacketType::Pubrec, id, 0, acks_);
    }
  }
  batchAcks_.clear();
}

void Client::dispatch(const wire::Packet& p) {
  using T = wire::PacketType;
  std::string err;
  if (p.type != T::Publish && p.type != T::Puback && p.type != T::Pubcomp && p.type != T::Pubrec) {
    deliverBatch();  // keep the order of everything the broker sent
    deliverAcked();
  }
  switch (p.type) {
    case T::Publish: {
      pipeline::Message m;
      std::uint16_t id = 0;
      bool dup = false;
      std::uint16_t alias = 0;
      if (!wire::parsePublish(version_, p.flags, p.body, m, id, dup, &alias, &err)) {
        lostReason_ = "malformed_publish";
        return;
      }
      if (alias != 0) {
        lostReason_ = "protocol_error_topic_alias";  // we never allow the broker any alias
        return;
      }
      batchAcks_.emplace_back(id, m.qos);
      batch_.push_back(std::move(m));
      if (batch_.size() >= kMaxBatch) {
        deliverBatch();
      }
      return;
    }
    case T::Pubrel: {
      std::uint16_t id = 0;
      std::uint8_t rc = 0;
      if (!wire::parseAck(version_, p.body, id, rc, &err)) {
        lostReason_ = "malformed_pubrel";
        return;
      }
      wire::encodeAck(version_, T::Pubcomp, id, 0, acks_);
      return;
    }
    case T::Puback:
    case T::Pubcomp:
    case T::Pubrec: {
      std::uint16_t id = 0;
      std::uint8_t rc = 0;
      if (!wire::parseAck(version_, p.body, id, rc, &err)) {
        lostReason_ = "malformed_ack";
        return;
      }
      if (p.type == T::Pubrec && rc < 0x80) {
        wire::encodeAck(version_, T::Pubrel, id, 0, acks_);  // the PUBCOMP answers it
        return;
      }
      acked_.emplace_back(id, rc);  // answered in one batch with the others of this read
      return;
    }
    case T::Suback:
    case T::Unsuback: {
      std::uint16_t id = 0;
      std::vector<std::uint8_t> codes;
      bool ok = false;
      if (p.type == T::Unsuback && version_ == wire::Version::V311) {
        std::uint8_t rc = 0;
        ok = wire::parseAck(version_, p.body, id, rc, &err);
      } else {
        ok = wire::parseSuback(version_, p.body, id, codes, &err);
      }
      if (!ok) {
        lostReason_ = "malformed_suback";
        return;
      }
      Done done;
      {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = inflight_.find(id);
        if (it == inflight_.end()) {
          return;
        }
        done = std::move(it->second.done);
        inflight_.erase(it);
      }
      const std::uint8_t first = codes.empty() ? 0 : codes.front();
      if (done) {
        done(first < 0x80, first);
      }
      return;
    }
    case T::Pingresp:
      pingOutstanding_ = false;
      return;
    case T::Disconnect: {
      std::uint8_t rc = 0;
      std::string text;
      wire::parseDisconnect(version_, p.body, rc, text, &err);
      lostReason_ = "server_disconnect_" + wire::reasonName(rc);
      return;
    }
    case T::Auth:
      // Re-authentication started by the broker is not supported; it will disconnect us if it
      // insists, and the next connect authenticates afresh.
      log::warn("mqtt_reauth_unsupported", {{"client", options_.clientId}});
      return;
    default:
      lostReason_ = "unexpected_packet";
      return;
  }
}

void Client::dropConnection(const std::string& reason) {
  std::vector<Done> failed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;  // first: a publisher that saw it open is done with the transport before...
    out_.clear();
    for (auto& [id, e] : inflight_) {
      if (e.done) {
        failed.push_back(std::move(e.done));
      }
    }
    inflight_.clear();
  }
  {
    std::lock_guard<std::mutex> io(ioMu_);  // ...we take ioMu_ to close it
    transport_.reset();
  }
  sendBuf_.clear();
  acks_.clear();
  batch_.clear();
  batchAcks_.clear();
  acked_.clear();
  decoder_.reset();
  lostReason_.clear();
  pingOutstanding_ = false;
  for (auto& d : failed) {
    d(false, 0);
  }
  handleLost(reason);
}

void Client::waitWake(std::chrono::milliseconds timeout) {
  pollfd fd{wakeFd_, POLLIN, 0};
  if (poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
    drainEventFd(wakeFd_);
  }
}

void Client::waitBackoff() {
  long long delay = options_.minRetry.count();
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto now = Clock::now();
    if (connectedAt_ != Clock::time_point{} && now - connectedAt_ >= options_.stableAfter) {
      attempt_ = 0;  // the last connection was stable: start the backoff again
    }
    connectedAt_ = {};
    for (int i = 0; i < attempt_ && delay < options_.maxRetry.count(); ++i) {
      delay *= 2;
    }
    delay = std::min<long long>(delay, options_.maxRetry.count());
    ++attempt_;
  }
  const int ms = jitterMs(static_cast<int>(delay));
  log::debug("mqtt_reconnect_scheduled",
             {{"client", options_.clientId}, {"delay_ms", ms}, {"attempt", attempt_}});
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (!closing()) {
    const int left = msUntil(until);
    if (left <= 0) {
      return;
    }
    waitWake(std::chrono::milliseconds(left));
  }
}

void Client::handleConnected(const ConnectInfo& info) {
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
  if (metrics_) {
    metrics_->failure(classifyFailure(reason, detail));
  }
  setState("connect_failed:" + reason, detail, true);
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
}

void Client::setState(const std::string& state, const std::string& detail, bool failure) {
  bool changed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    changed = state != lastState_;
    lastState_ = state;
  }
  if (!changed) {
    log::debug("mqtt_state", {{"client", options_.clientId}, {"state", state}, {"detail", detail}});
    return;
  }
  const std::string uri = brokerUri(options_.broker);
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

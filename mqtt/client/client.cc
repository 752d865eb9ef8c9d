// The client's API side (thread-safe calls from any thread) and its I/O thread's outer loop:
// connect, serve, back off, again.

#include "mqtt/client.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/log.h"
#include "mqtt/auth/token_fetcher.h"
#include "mqtt/client/internal.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {
namespace {

int jitterMs(int ms) {
  thread_local std::mt19937 rng{std::random_device{}()};
  if (ms <= 1) {
    return ms;
  }
  std::uniform_int_distribution<int> d(ms / 2, ms);
  return d(rng);
}

}  // namespace

void ClientListener::onMessage(Message&& /*message*/) noexcept {}
void ClientListener::onMessages(std::vector<Message>& batch) noexcept {
  for (auto& m : batch) {
    onMessage(std::move(m));
  }
}
void ClientListener::onRefused(Message&& /*message*/, Refusal /*why*/,
                               const std::string& /*detail*/) noexcept {}
void ClientListener::onPublished(std::uint64_t /*cookie*/, std::uint8_t /*reasonCode*/) noexcept {}
void ClientListener::onPublishedBatch(
    std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept {
  for (const auto& [cookie, reasonCode] : results) {
    onPublished(cookie, reasonCode);
  }
}
void ClientListener::onWritable() noexcept {}

std::string_view name(Refusal r) noexcept {
  switch (r) {
    case Refusal::InvalidTopic:
      return "invalid_topic";
    case Refusal::InvalidProperties:
      return "invalid_properties";
    case Refusal::TooLarge:
      return "too_large";
  }
  return "unknown";
}

std::string uriOf(const Endpoint& e) {
  std::string scheme;
  if (e.websocket) {
    scheme = e.tls ? "wss" : "ws";
  } else {
    scheme = e.tls ? "ssl" : "tcp";
  }
  std::string host = e.host;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  return scheme + "://" + host + ":" + std::to_string(e.port);
}

Client::Client(ClientOptions options, ClientListener* listener, ClientObserver* observer)
    : options_(std::move(options)),
      listener_(listener),
      observer_(observer),
      version_(options_.version),
      decoder_(std::max<std::size_t>(64, options_.maximumPacketSize)) {}

Client::~Client() { stop(std::chrono::milliseconds(200)); }

bool Client::start() {
  if (thread_.joinable()) {
    return true;
  }
  if (options_.clientId.empty() || options_.endpoint.host.empty() || options_.endpoint.port == 0) {
    log::error("mqtt_client_create_failed", {{"client", options_.clientId},
                                             {"broker", uriOf(options_.endpoint)},
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
  if (options_.credentials.kind == Credentials::Kind::ManagedIdentity) {
    if (!tokens_) {
      auth::TokenFetcherOptions to;
      to.endpoint = options_.credentials.identityEndpoint;
      to.audience = options_.credentials.audience;
      to.arcKeyDirectory = options_.credentials.arcKeyDirectory;
      to.timeout = options_.connectTimeout;
      tokens_ = std::make_unique<auth::TokenFetcher>(std::move(to));
    }
    tokens_->resume();
  }
  log::info("mqtt_client_starting", {{"client", options_.clientId},
                                     {"broker", uriOf(options_.endpoint)},
                                     {"protocol", v5() ? "v5" : "v3"},
                                     {"proxy", uriOf(options_.endpoint.proxy)},
                                     {"fallback_endpoints", options_.fallbackEndpoints.size()},
                                     {"name", options_.name}});
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
  startProber();
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
  if (tokens_) {
    tokens_->abort();  // a token fetch in progress gives up at its next progress call
  }
  stopProber();  // before the I/O thread: the prober writes to wakeFd_
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = write(wakeFd_, &one, sizeof one);
  thread_.join();
  thread_ = std::thread();
  close(wakeFd_);
  wakeFd_ = -1;
  running_.store(false, std::memory_order_release);
  if (connected_.exchange(false) && observer_ != nullptr) {
    observer_->onStopped();
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

std::size_t Client::queuedOutputLocked() const noexcept {
  return out_.size() + transportPending_.load(std::memory_order_relaxed);
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
  const auto io = transport_->flush();
  transportPending_.store(transport_->pendingOutput(), std::memory_order_relaxed);
  lastSent_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  if (io != wire::Transport::Io::Ok) {
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
    const std::size_t queued = queuedOutputLocked();
    if (draining_ || (queued > 0 && queued >= options_.maxOutputBytes)) {
      writableWanted_ = true;
      return Send::Busy;
    }
    const std::uint8_t qos = std::min<std::uint8_t>(p.qos, 2);
    std::uint16_t id = 0;
    if (qos > 0) {
      if (!allocIdLocked(id)) {
        return Send::NoPacketId;
      }
      inflight_.emplace(id, Inflight{Request::Publish, qos, false, cookie, nullptr});
    }
    const bool v5 = version_ == Version::V5;
    wire::encodePublish(version_, p.topic, p.payload, qos, p.retain, p.dup && qos > 0, id,
                        v5 ? p.props : nullptr, v5 ? p.marker : nullptr, p.expiry, out_);
  }
  if (!p.defer) {
    kick();
  }
  return Send::Ok;
}

std::size_t Client::publishSize(const Publish& p) const noexcept {
  const bool v5 = version_ == Version::V5;
  return wire::publishSize(version_, p.topic, p.payload.size(), p.qos, v5 ? p.props : nullptr,
                           v5 ? p.marker : nullptr, p.expiry);
}

template <typename Encode>
Client::Send Client::request(Request kind, Done done, Encode encode) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!open_ || closing_) {
      return Send::Disconnected;
    }
    std::uint16_t id = 0;
    if (!allocIdLocked(id)) {
      return Send::NoPacketId;
    }
    inflight_.emplace(id, Inflight{kind, 0, false, 0, std::move(done)});
    encode(id);
  }
  kick();
  return Send::Ok;
}

Client::Send Client::subscribe(const std::string& filter, const wire::SubscribeOptions& o,
                               Done done) {
  return request(Request::Subscribe, std::move(done), [&](std::uint16_t id) {
    subscribed_ = true;  // from now on every PUBLISH must wake the I/O thread
    wire::encodeSubscribe(version_, id, filter, o, out_);
  });
}

Client::Send Client::unsubscribe(const std::string& filter, Done done) {
  return request(Request::Unsubscribe, std::move(done),
                 [&](std::uint16_t id) { wire::encodeUnsubscribe(version_, id, filter, out_); });
}

// ---- I/O thread ---------------------------------------------------------------------------------

void Client::run() noexcept {
  // "<role>-<client id>" (15 bytes at most; the role is the last part of the log name, e.g.
  // "pub-0", else "io") names the thread in top, perf and /proc: a route's subscriber and
  // publisher share a client id (on different brokers), not a thread name.
  const auto slash = options_.name.rfind('/');
  const std::string role =
      slash == std::string::npos ? std::string("io") : options_.name.substr(slash + 1);
  pthread_setname_np(pthread_self(), (role + "-" + options_.clientId).substr(0, 15).c_str());
  {
    std::lock_guard<std::mutex> lk(mu_);
    ioThread_ = std::this_thread::get_id();
  }
  for (;;) {
    try {
      while (!closing()) {
        if (connectOnce()) {
          serve();
        } else {
          endpointFailed();
        }
        {
          std::lock_guard<std::mutex> io(ioMu_);
          transport_.reset();
        }
        if (closing()) {
          break;
        }
        if (!std::exchange(reconnectAtOnce_, false)) {
          waitBackoff();
        }
      }
      break;
    } catch (const std::exception& e) {
      // Nothing in the loop throws by design; an allocation failure is survived: the connection
      // goes, the client backs off and tries again (no thread ever dies silently).
      log::error("mqtt_client_thread_error",
                 {{"client", options_.clientId}, {"error", e.what()}, {"action", "reconnecting"}});
      dropConnection(Failure{Cause::SocketError, 0, v5(), std::string("internal: ") + e.what()});
      if (closing()) {
        break;
      }
      waitBackoff();
    }
  }
  {
    std::lock_guard<std::mutex> io(ioMu_);
    transport_.reset();
  }
  joinTokenThread();
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;
    ioThread_ = std::thread::id();
  }
}

void Client::waitWake(std::chrono::milliseconds timeout) {
  pollfd fd{wakeFd_, POLLIN, 0};
  if (poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
    detail::drainEventFd(wakeFd_);
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
    const int rounds = attempt_ / static_cast<int>(endpointCount());
    for (int i = 0; i < rounds && delay < options_.maxRetry.count(); ++i) {
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
    const int left = detail::msUntil(until);
    if (left <= 0) {
      return;
    }
    waitWake(std::chrono::milliseconds(left));
  }
}

void Client::setState(const std::string& state, const Failure* f) {
  bool changed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    changed = state != lastState_;
    lastState_ = state;
  }
  const std::string reason = f != nullptr ? reasonOf(*f) : "";
  const std::string detail = f != nullptr ? detailOf(*f) : "";
  if (!changed) {
    log::debug(
        "mqtt_state",
        {{"client", options_.clientId}, {"state", state}, {"reason", reason}, {"detail", detail}});
    return;
  }
  const std::string uri = uriOf(endpointAt(endpointIndex()));
  if (f == nullptr) {
    const ConnectInfo info = connectInfo();
    log::info("mqtt_connected", {{"client", options_.clientId},
                                 {"broker", uri},
                                 {"name", options_.name},
                                 {"session_present", info.sessionPresent ? "true" : "false"},
                                 {"receive_maximum", static_cast<int>(info.receiveMaximum)},
                                 {"maximum_packet_size", info.maximumPacketSize},
                                 {"keep_alive", info.keepAliveSeconds}});
    return;
  }
  log::warn(state == "lost" ? "mqtt_connection_lost" : "mqtt_connect_failed",
            {{"client", options_.clientId},
             {"broker", uri},
             {"name", options_.name},
             {"reason", reason},
             {"detail", detail}});
}

}  // namespace mqb::mqtt

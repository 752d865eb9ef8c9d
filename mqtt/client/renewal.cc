// Keeping an established connection working while what it stands on changes: credentials that are
// renewed (a projected token, a managed identity's token, a certificate that cert-manager
// rotated, a Secret's new password) and a broker that stops acknowledging.
//
// Rules:
//  * A new token goes to the broker by MQTT 5 re-authentication (AUTH 0x19 with the connection's
//    method); other traffic keeps flowing meanwhile (MQTT 5 section 4.12.1). A broker that
//    answers anything but AUTH success (an AUTH to continue, a DISCONNECT, or mosquitto's
//    CONNACK "not authorized") is left at once and reconnected to with the new token, without
//    backoff.
//  * Other changed files are checked first (readable, and for TLS a context is built: a key that
//    does not match its certificate fails here). Files that do not work are reported once and the
//    connection keeps what it has; files that work are taken by a graceful reconnect: publish()
//    answers Busy, the outstanding acknowledgements arrive (at most drainTimeout), DISCONNECT,
//    reconnect at once. Nothing is lost; a publish whose acknowledgement did not arrive in time is
//    sent again by the owner with DUP.
//  * Acknowledgement watch: publishes outstanding and no acknowledgement at all for ackTimeout
//    ends the connection (AckTimeout); the owner resends after the reconnect.
// File changes are found by stamps (device, inode, size, modification time of the file the path
// leads to), so a kubelet's atomic `..data` symlink swap is seen like an edit in place.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "mqtt/auth/token_fetcher.h"
#include "mqtt/client.h"
#include "mqtt/client/internal.h"
#include "mqtt/wire/tls.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {
namespace {

using Clock = std::chrono::steady_clock;

std::string stampOf(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) {
    return "absent";
  }
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

/// The files a connection's credentials come from. The token file, when there is one, is first.
std::vector<std::string> credentialFiles(const ClientOptions& o) {
  using Kind = Credentials::Kind;
  const auto& c = o.credentials;
  std::vector<std::string> files;
  switch (c.kind) {
    case Kind::KubernetesToken:
      files.push_back(c.tokenFile);
      break;
    case Kind::UsernamePassword:
      files = {c.usernameFile, c.passwordFile};
      break;
    case Kind::X509:
      files = {c.certFile, c.keyFile, c.intermediateFile};
      break;
    case Kind::Anonymous:
    case Kind::ManagedIdentity:
      break;
  }
  if (o.endpoint.tls) {
    files.insert(files.end(), o.endpoint.caFiles.begin(), o.endpoint.caFiles.end());
  }
  return files;
}

std::vector<std::string> stampsOf(const std::vector<std::string>& files) {
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    out.push_back(stampOf(f));
  }
  return out;
}

}  // namespace

void Client::stampCredentials() {
  stamps_ = stampsOf(credentialFiles(options_));
  rejectedStamps_.clear();
}

bool Client::maintain() {
  const auto now = Clock::now();
  // The fast path of every wake-up: nothing is due and no exchange is under way.
  if (now < nextMaintenance_ && !draining_ && !reauthPending_ && !tokenThread_.joinable()) {
    return true;
  }
  std::size_t waiting = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    waiting = inflight_.size();
  }
  watchAcks(now, waiting);
  if (reauthPending_ && now >= reauthDeadline_ && !failure_) {
    reauthPending_ = false;
    if (observer_ != nullptr) {
      observer_->onReauthentication("refused");
    }
    beginDrain("re-authentication unanswered", Cause::Reconnecting, options_.drainTimeout, now);
  }
  if (options_.credentialCheckInterval.count() > 0 && now >= nextCredentialCheck_) {
    nextCredentialCheck_ = now + options_.credentialCheckInterval;
    checkCredentials(now);
  }
  refreshIdentityToken(now);
  nextMaintenance_ = maintenanceDue(now);  // after the checks: they may have started an exchange
  bool drainDone = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    drainDone = draining_ && (inflight_.empty() || now >= drainDeadline_);
  }
  if (failure_) {
    return true;  // the connection goes anyway (sleepAndRead() drops it)
  }
  return drainDone ? finishDrain() : true;
}

void Client::watchAcks(Clock::time_point now, std::size_t waiting) {
  if (options_.ackTimeout.count() <= 0 || waiting == 0 || acksReceived_ != ackMark_) {
    ackMark_ = acksReceived_;
    ackWatching_ = waiting > 0;
    ackSince_ = now;
    return;
  }
  if (!ackWatching_) {
    ackWatching_ = true;
    ackSince_ = now;
    return;
  }
  if (now - ackSince_ >= options_.ackTimeout) {
    fail(Cause::AckTimeout,
         std::to_string(waiting) + " requests outstanding and no acknowledgement for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - ackSince_).count()) +
             " ms");
  }
}

void Client::checkCredentials(Clock::time_point now) {
  const auto files = credentialFiles(options_);
  auto current = stampsOf(files);
  if (current == stamps_ || current == rejectedStamps_ || draining_) {
    return;
  }
  std::string changed;
  bool otherChanged = false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i < stamps_.size() && current[i] == stamps_[i]) {
      continue;
    }
    changed.append(changed.empty() ? "" : ", ").append(files[i]);
    const bool token = i == 0 && options_.credentials.kind == Credentials::Kind::KubernetesToken;
    otherChanged = otherChanged || !token;
  }
  if (!otherChanged && version_ == Version::V5) {
    auto token = detail::readCredentialFile(options_.credentials.tokenFile);
    if (!token) {
      rejectedStamps_ = std::move(current);
      log::warn("mqtt_reauthentication_skipped",
                {{"client", options_.clientId}, {"reason", "token file unreadable: " + changed}});
      if (observer_ != nullptr) {
        observer_->onReauthentication("no_token");
      }
      return;
    }
    stamps_ = std::move(current);
    sendReauth(*token, now);
    return;
  }
  wire::TransportOptions to;
  std::optional<Failure> bad = transportOptions(endpointAt(endpointIndex()), to);
  if (!bad && options_.credentials.kind == Credentials::Kind::UsernamePassword) {
    for (const auto* f : {&options_.credentials.usernameFile, &options_.credentials.passwordFile}) {
      auto v = detail::readCredentialFile(*f);
      if (!v) {
        bad = Failure{Cause::CredentialsUnreadable, 0, v5(), *f};
        break;
      }
      detail::scrub(*v);
    }
  }
  if (!bad && to.tls) {
    wire::ConnectError err;
    if (!wire::tls::makeContext(to, err)) {
      bad = Failure{err.cause, 0, v5(), err.detail};
    }
  }
  if (observer_ != nullptr) {
    observer_->onCredentialsChanged(!bad);
  }
  if (bad) {
    rejectedStamps_ = std::move(current);
    log::warn("mqtt_credentials_not_applied", {{"client", options_.clientId},
                                               {"changed", changed},
                                               {"error", reasonOf(*bad)},
                                               {"detail", detailOf(*bad)},
                                               {"action", "keeping the current connection"}});
    return;
  }
  stamps_ = std::move(current);
  beginDrain("credentials changed: " + changed, Cause::Reconnecting, options_.drainTimeout, now);
}

void Client::refreshIdentityToken(Clock::time_point now) {
  if (!tokens_ || version_ != Version::V5) {
    return;
  }
  if (tokenThread_.joinable()) {
    std::optional<std::string> token;
    std::string error;
    {
      std::lock_guard<std::mutex> lk(tokenMu_);
      if (!tokenDone_) {
        return;
      }
      token = std::move(freshToken_);
      freshToken_.reset();
      error = std::move(tokenError_);
      tokenDone_ = false;
    }
    tokenThread_.join();
    // However short the token's life, the endpoint is asked at most once per interval.
    nextTokenTry_ =
        now + std::max(options_.credentialCheckInterval, std::chrono::milliseconds(1000));
    if (!token) {
      log::warn("mqtt_reauthentication_skipped",
                {{"client", options_.clientId}, {"reason", "token fetch failed: " + error}});
      if (observer_ != nullptr) {
        observer_->onReauthentication("no_token");
      }
      return;
    }
    sendReauth(*token, now);
    return;
  }
  if (reauthPending_ || draining_ || now < nextTokenTry_ || now < tokens_->refreshAt()) {
    return;
  }
  // Due: fetch on a thread of its own (a fetch may take the whole connect timeout); stop()
  // aborts it, run() joins it.
  tokenThread_ = std::thread([this] {
    std::string error;
    auto t = tokens_->fetch(error);
    std::lock_guard<std::mutex> lk(tokenMu_);
    freshToken_ = std::move(t);
    tokenError_ = std::move(error);
    tokenDone_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = write(wakeFd_, &one, sizeof one);  // wake the I/O thread
  });
}

void Client::joinTokenThread() noexcept {
  if (tokenThread_.joinable()) {
    tokenThread_.join();
  }
  std::lock_guard<std::mutex> lk(tokenMu_);
  if (freshToken_) {
    detail::scrub(*freshToken_);
  }
  freshToken_.reset();
  tokenDone_ = false;
}

void Client::sendReauth(std::string& token, Clock::time_point now) {
  const bool k8s = options_.credentials.kind == Credentials::Kind::KubernetesToken;
  std::string pkt;
  wire::encodeAuth(0x19, k8s ? "K8S-SAT" : "OAUTH2-JWT", detail::trimNewlines(token), pkt);
  detail::scrub(token);
  {
    std::lock_guard<std::mutex> io(ioMu_);
    transport_->queue(pkt);
  }
  detail::scrub(pkt);
  reauthPending_ = true;
  reauthDeadline_ = now + options_.connectTimeout;
  log::info("mqtt_reauthenticating",
            {{"client", options_.clientId}, {"method", k8s ? "K8S-SAT" : "OAUTH2-JWT"}});
}

void Client::onReauthAnswer(const wire::Packet& p) {
  std::uint8_t rc = 0;
  std::string method;
  std::string data;
  std::string err;
  if (!wire::parseAuth(p.body, rc, method, data, &err)) {
    fail(Cause::MalformedPacket, "AUTH: " + err);
    return;
  }
  detail::scrub(data);
  if (rc != 0x00) {
    reauthRefused(rc, "AUTH");  // 0x18: a second step, which neither method has
    return;
  }
  reauthPending_ = false;
  log::info("mqtt_reauthenticated", {{"client", options_.clientId}});
  if (observer_ != nullptr) {
    observer_->onReauthentication("accepted");
  }
}

void Client::reauthRefused(std::uint8_t rc, std::string_view packet) {
  reauthPending_ = false;
  if (observer_ != nullptr) {
    observer_->onReauthentication("refused");
  }
  // Whatever the broker does next with this connection, the new token is for a new one.
  reconnectAtOnce_ = true;
  failure_ = Failure{Cause::Reconnecting, rc, true,
                     std::string("re-authentication refused (")
                         .append(packet)
                         .append(" ")
                         .append(wire::reasonName(rc))
                         .append(")")};
}

void Client::beginDrain(std::string reason, Cause cause, std::chrono::milliseconds within,
                        Clock::time_point now) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (draining_) {
      return;  // one drain at a time: the first reason wins
    }
    draining_ = true;
    writableWanted_ = true;
  }
  drainDeadline_ = now + within;
  drainCause_ = cause;
  nextMaintenance_ = std::min(nextMaintenance_, drainDeadline_);  // wakes the I/O thread then
  log::info("mqtt_graceful_reconnect", {{"client", options_.clientId}, {"reason", reason}});
  drainReason_ = std::move(reason);
}

bool Client::finishDrain() {
  bool inFlight = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;  // publishers neither queue nor touch the transport from here on
    inFlight = !inflight_.empty();
  }
  std::string bye;
  wire::encodeDisconnect(version_, 0, std::nullopt, bye);
  {
    std::lock_guard<std::mutex> io(ioMu_);
    transport_->queue(bye);
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(1000);
  if (writeAll(deadline)) {
    transport_->shutdown();
    drainUntilClosed(deadline);
  }
  if (drainCause_ == Cause::ReturningToPrimary) {
    endpointIndex_.store(0, std::memory_order_release);
  }
  reconnectAtOnce_ = true;
  dropConnection(
      Failure{drainCause_, 0, v5(),
              inFlight ? drainReason_ + "; what is still in flight is sent again" : drainReason_});
  return false;
}

Clock::time_point Client::maintenanceDue(Clock::time_point now) const noexcept {
  auto next = Clock::time_point::max();
  if (options_.credentialCheckInterval.count() > 0) {
    next = std::min(next, nextCredentialCheck_);
  }
  if (options_.ackTimeout.count() > 0) {
    next = std::min(next, now + std::max(options_.ackTimeout / 4, std::chrono::milliseconds(1)));
  }
  if (reauthPending_) {
    next = std::min(next, reauthDeadline_);
  }
  if (draining_) {
    next = std::min(next, drainDeadline_);
  }
  if (tokens_ && !tokenThread_.joinable()) {  // a running fetch wakes the I/O thread itself
    next = std::min(next, std::max({tokens_->refreshAt(), nextTokenTry_,
                                    now + std::chrono::milliseconds(100)}));
  }
  return next;
}

}  // namespace mqb::mqtt

// The endpoint list: moving on after a failed attempt, the prober that watches the primary while
// a fallback serves, and the switch back (drain, normal DISCONNECT, reconnect at once).

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/log.h"
#include "mqtt/client.h"
#include "mqtt/client/internal.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {
namespace {

/// Largest proxy credential file read.
constexpr std::streamsize kMaxProxyCredential = 4096;

/// The file's text without trailing newlines; nullopt if unreadable or too large.
std::optional<std::string> readSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string s(static_cast<std::size_t>(kMaxProxyCredential) + 1, '\0');
  in.read(s.data(), kMaxProxyCredential + 1);
  if (in.bad() || in.gcount() > kMaxProxyCredential) {
    detail::scrub(s);
    return std::nullopt;
  }
  s.resize(static_cast<std::size_t>(in.gcount()));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

std::string uriOf(const Proxy& p) {
  if (p.kind == Proxy::Kind::None) {
    return {};
  }
  std::string out = p.kind == Proxy::Kind::Socks5 ? "socks5://" : "http://";
  if (p.host.find(':') != std::string::npos) {
    out.append("[").append(p.host).append("]");
  } else {
    out.append(p.host);
  }
  return out.append(":").append(std::to_string(p.port));
}

namespace detail {

std::optional<Failure> proxySettings(const Proxy& p, wire::ProxySettings& out) {
  using K = wire::ProxySettings::Kind;
  out.kind = p.kind == Proxy::Kind::HttpConnect ? K::HttpConnect
             : p.kind == Proxy::Kind::Socks5    ? K::Socks5
                                                : K::None;
  out.host = p.host;
  out.port = p.port;
  if (p.usernameFile.empty()) {
    out.username = p.username;
    out.password = p.password;
    return std::nullopt;
  }
  auto u = readSecret(p.usernameFile);
  auto w = p.passwordFile.empty() ? std::optional<std::string>("") : readSecret(p.passwordFile);
  if (!u || !w) {
    return Failure{Cause::CredentialsUnreadable, 0, true,
                   "proxy credentials: " + (!u ? p.usernameFile : p.passwordFile)};
  }
  out.username = std::move(*u);
  out.password = std::move(*w);
  return std::nullopt;
}

}  // namespace detail

void Client::endpointFailed() noexcept {
  if (endpointCount() > 1) {
    endpointIndex_.store((endpointIndex() + 1) % endpointCount(), std::memory_order_release);
  }
}

void Client::endpointConnected() noexcept {
  switchWanted_.store(false, std::memory_order_release);
  const std::size_t i = endpointIndex();
  if (observer_ != nullptr) {
    observer_->onEndpoint(i, endpointAt(i));
  }
  if (endpointCount() > 1) {
    log::info("mqtt_endpoint_in_use", {{"client", options_.clientId},
                                       {"name", options_.name},
                                       {"index", i},
                                       {"broker", uriOf(endpointAt(i))}});
  }
  if (i != 0) {
    probeCv_.notify_all();  // the prober starts watching the primary
  }
}

void Client::startProber() {
  if (options_.fallbackEndpoints.empty() || options_.primaryCheckInterval.count() <= 0) {
    return;
  }
  probeAbortFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (probeAbortFd_ < 0) {
    log::warn("mqtt_primary_check_disabled",
              {{"client", options_.clientId}, {"error", "no eventfd"}});
    return;
  }
  {
    std::lock_guard<std::mutex> lk(probeMu_);
    probeStop_ = false;
  }
  prober_ = std::thread([this] { probeLoop(); });
}

void Client::stopProber() {
  if (!prober_.joinable()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lk(probeMu_);
    probeStop_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = write(probeAbortFd_, &one, sizeof one);
  probeCv_.notify_all();
  prober_.join();
  prober_ = std::thread();
  close(probeAbortFd_);
  probeAbortFd_ = -1;
}

void Client::probeLoop() noexcept {
  pthread_setname_np(pthread_self(), ("chk-" + options_.clientId).substr(0, 15).c_str());
  std::unique_lock<std::mutex> lk(probeMu_);
  while (!probeStop_) {
    const bool onFallback = connected_.load(std::memory_order_acquire) && endpointIndex() != 0;
    if (!onFallback || switchWanted_.load(std::memory_order_acquire)) {
      probeCv_.wait_for(lk, options_.primaryCheckInterval);
      continue;
    }
    if (probeCv_.wait_for(lk, options_.primaryCheckInterval, [this] { return probeStop_; })) {
      break;
    }
    lk.unlock();
    const bool back = probePrimary();
    if (back && connected_.load(std::memory_order_acquire) && endpointIndex() != 0) {
      log::info("mqtt_primary_reachable", {{"client", options_.clientId},
                                           {"name", options_.name},
                                           {"broker", uriOf(options_.endpoint)}});
      switchWanted_.store(true, std::memory_order_release);
      const std::uint64_t one = 1;  // the I/O thread begins the drain (serve())
      [[maybe_unused]] const auto n = write(wakeFd_, &one, sizeof one);
    }
    lk.lock();
  }
}

bool Client::probePrimary() const {
  wire::TransportOptions to;
  if (transportOptions(options_.endpoint, to)) {
    return false;
  }
  wire::ConnectError err;
  auto t = wire::connectTransport(to, Clock::now() + options_.connectTimeout, probeAbortFd_, err);
  detail::scrub(to.proxy.password);
  if (!t) {
    log::debug("mqtt_primary_unreachable", {{"client", options_.clientId},
                                            {"reason", std::string(name(err.cause))},
                                            {"detail", err.detail}});
    return false;
  }
  t->shutdown();
  return true;
}

}  // namespace mqb::mqtt

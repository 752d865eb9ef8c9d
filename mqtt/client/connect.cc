// One connection attempt: credentials, transport, CONNECT, CONNACK.

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/text.h"
#include "mqtt/auth/token_fetcher.h"
#include "mqtt/client.h"
#include "mqtt/client/internal.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {
namespace {

namespace fs = std::filesystem;

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

Failure failure(Cause c, std::string detail, bool v5 = true) {
  return Failure{c, 0, v5, std::move(detail)};
}

}  // namespace

namespace detail {

/// Largest credential file read (a password, a service-account token).
constexpr std::uintmax_t kMaxCredentialBytes = 64 * 1024;

std::optional<std::string> readCredentialFile(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size > kMaxCredentialBytes) {
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

}  // namespace detail

std::optional<Failure> Client::prepareConnect(wire::ConnectPacket& cp) {
  using Kind = Credentials::Kind;
  const auto& creds = options_.credentials;
  const bool v5 = version_ == Version::V5;
  cp.version = version_;
  cp.clientId = options_.clientId;
  cp.cleanStart = !options_.persistentSession;
  cp.keepAliveSeconds = static_cast<std::uint16_t>(std::clamp(options_.keepAliveSeconds, 0, 65535));
  if (v5) {
    if (options_.persistentSession) {
      cp.sessionExpirySeconds =
          static_cast<std::uint32_t>(std::max(0, options_.sessionExpirySeconds));
    }
    cp.receiveMaximum = options_.receiveMaximum;
    cp.maximumPacketSize = options_.maximumPacketSize;
  }
  // Credentials are read at every attempt, so rotated files are picked up on reconnect. Their
  // stamps are taken first: a file that changes after this is seen changed by maintain().
  stampCredentials();
  if (creds.kind == Kind::UsernamePassword) {
    auto u = detail::readCredentialFile(creds.usernameFile);
    auto p = detail::readCredentialFile(creds.passwordFile);
    if (!u || !p) {
      return failure(Cause::CredentialsUnreadable, !u ? creds.usernameFile : creds.passwordFile);
    }
    cp.username = detail::trimNewlines(*u);
    cp.password = detail::trimNewlines(*p);
    detail::scrub(*p);
  } else if (creds.kind == Kind::KubernetesToken) {
    auto t = detail::readCredentialFile(creds.tokenFile);
    if (!t) {
      return failure(Cause::CredentialsUnreadable, creds.tokenFile);
    }
    cp.authMethod = "K8S-SAT";
    cp.authData = detail::trimNewlines(*t);
    detail::scrub(*t);
  } else if (creds.kind == Kind::ManagedIdentity) {
    auto t = tokens_->cached();
    if (!t) {
      std::string error;
      t = tokens_->fetch(error);  // bounded by the connect timeout; stop() aborts it
      if (!t) {
        return failure(error == "aborted" ? Cause::Aborted : Cause::TokenFetchFailed, error);
      }
    }
    cp.authMethod = "OAUTH2-JWT";
    cp.authData = *t;
    detail::scrub(*t);
  }
  if (!cp.authMethod.empty() && !v5) {
    return failure(Cause::EnhancedAuthNeedsV5, cp.authMethod, false);
  }
  if (!options_.will.topic.empty()) {
    cp.will = wire::Will{options_.will.topic, options_.will.payload,
                         static_cast<std::uint8_t>(std::clamp(options_.will.qos, 0, 2)),
                         options_.will.retain};
  }
  return std::nullopt;
}

std::optional<Failure> Client::transportOptions(const Endpoint& ep,
                                                wire::TransportOptions& to) const {
  const auto& creds = options_.credentials;
  to.host = ep.host;
  to.port = ep.port;
  to.tls = ep.tls;
  to.websocket = ep.websocket;
  to.websocketPath = ep.websocketPath;
  if (auto f = detail::proxySettings(ep.proxy, to.proxy)) {
    return f;
  }
  if (!to.tls) {
    return std::nullopt;
  }
  for (const auto& f : ep.caFiles) {
    if (!readable(f)) {
      return failure(Cause::TlsSetupFailed, "CA file " + f + " unreadable");
    }
  }
  to.caFiles = ep.caFiles;
  to.alpn = ep.alpn;
  if (creds.kind != Credentials::Kind::X509) {
    return std::nullopt;
  }
  for (const auto* f : {&creds.certFile, &creds.keyFile}) {
    if (!readable(*f)) {
      return failure(Cause::CredentialsUnreadable, *f);
    }
  }
  std::error_code ec;
  if (!creds.intermediateFile.empty() && fs::exists(creds.intermediateFile, ec)) {
    if (!readable(creds.intermediateFile)) {
      return failure(Cause::CredentialsUnreadable, creds.intermediateFile);
    }
    to.intermediateFile = creds.intermediateFile;
  }
  to.certFile = creds.certFile;
  to.keyFile = creds.keyFile;
  return std::nullopt;
}

std::optional<Failure> Client::openTransport(const wire::TransportOptions& to,
                                             Clock::time_point deadline) {
  wire::ConnectError err;
  auto t = wire::connectTransport(to, deadline, wakeFd_, err);
  std::lock_guard<std::mutex> io(ioMu_);
  transport_ = std::move(t);
  lowWater_ = 1;  // a new socket
  lowWaterMayRise_ = false;
  if (!transport_) {
    return failure(err.cause, err.detail);
  }
  return std::nullopt;
}

void Client::adoptConnection(const ConnectInfo& info) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
    out_.clear();
    inflight_.clear();
    nextId_ = 1;
    subscribed_ = false;
    writableWanted_ = false;
    info_ = info;
    connectedAt_ = Clock::now();
  }
  if (!info.sessionPresent) {
    qos2In_.clear();  // a new session holds no QoS 2 exchange of the old one
  }
  unackedIn_ = 0;
  keepAlive_ = std::chrono::seconds(info.keepAliveSeconds);
  const auto now = Clock::now();
  lastSent_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  lastReceived_ = now;
  lastWriteProgress_ = now;
  pingOutstanding_ = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_ = false;
  }
  ackWatching_ = false;
  reauthPending_ = false;
  nextMaintenance_ = Clock::time_point{};
  nextCredentialCheck_ = now + options_.credentialCheckInterval;
}

bool Client::connectOnce() {
  detail::drainEventFd(wakeFd_);
  if (closing()) {
    return false;
  }
  if (observer_ != nullptr) {
    observer_->onConnectAttempt();
  }
  const auto deadline = Clock::now() + options_.connectTimeout;
  // A failure before CONNACK is reported unless it is the client being stopped.
  auto fail = [this](const Failure& f) {
    if (f.cause != Cause::Aborted || !closing()) {
      handleFailure(f);
    }
    return false;
  };
  wire::ConnectPacket cp;
  // Secrets leave memory as soon as the CONNECT is encoded, or when connecting fails before.
  auto scrubConnect = [&cp] {
    detail::scrub(cp.authData);
    if (cp.password) {
      detail::scrub(*cp.password);
    }
  };
  wire::TransportOptions to;
  std::optional<Failure> f = prepareConnect(cp);
  if (!f) {
    f = transportOptions(endpointAt(endpointIndex()), to);
  }
  if (!f) {
    f = openTransport(to, deadline);
  }
  if (f) {
    scrubConnect();
    return fail(*f);
  }
  std::string pkt;
  wire::encodeConnect(cp, pkt);
  scrubConnect();
  transport_->queue(pkt);
  decoder_.reset();
  acks_.clear();
  sendBuf_.clear();
  failure_.reset();
  if (!writeAll(deadline)) {
    handleFailure(failure_.value_or(failure(Cause::SocketError, transport_->error())));
    failure_.reset();
    return false;
  }
  ConnectInfo info;
  if (auto cf = awaitConnack(deadline, info)) {
    return fail(*cf);
  }
  adoptConnection(info);
  handleConnected(info);
  return true;
}

std::optional<Failure> Client::connackPacket(const wire::Packet& p, ConnectInfo& info) const {
  const bool v5 = version_ == Version::V5;
  if (p.type != wire::PacketType::Connack) {
    return failure(
        Cause::ProtocolError,
        p.type == wire::PacketType::Auth
            ? "AUTH before CONNACK: multi-step enhanced authentication is not supported"
            : "packet type " + std::to_string(static_cast<int>(p.type)) + " before CONNACK");
  }
  if (p.flags != 0) {
    return failure(Cause::MalformedConnack, "reserved fixed header flags set");
  }
  wire::Connack ca;
  std::string perr;
  if (!wire::parseConnack(version_, p.body, ca, &perr)) {
    return failure(Cause::MalformedConnack, perr);
  }
  if (ca.reasonCode != 0) {
    // Below 0x80 only a 3.1.1 broker's return code can refuse: name it from that table.
    return Failure{Cause::ConnackRefused, ca.reasonCode, v5 && ca.reasonCode >= 0x80,
                   common::printable(ca.reasonString)};
  }
  info.v5 = v5;
  info.sessionPresent = ca.sessionPresent;
  info.receiveMaximum = v5 ? ca.receiveMaximum : 65535;
  info.maximumPacketSize = v5 ? ca.maximumPacketSize : 0;
  info.maximumQos = v5 ? ca.maximumQos : 2;
  info.retainAvailable = v5 ? ca.retainAvailable : true;
  info.keepAliveSeconds =
      (v5 && ca.serverKeepAlive) ? *ca.serverKeepAlive : std::max(0, options_.keepAliveSeconds);
  return std::nullopt;
}

std::optional<Failure> Client::readBeforeConnack(bool& peerClosed) {
  for (;;) {
    const auto io = transport_->read(decoder_.buffer());
    if (io == wire::Transport::Io::WouldBlock) {
      return std::nullopt;
    }
    if (io == wire::Transport::Io::Ok) {
      continue;
    }
    if (io == wire::Transport::Io::Error && transport_->failureCause() != Cause::ConnectionClosed) {
      return failure(transport_->failureCause(), transport_->error());
    }
    peerClosed = true;  // decode what came before the close, then give up
    return std::nullopt;
  }
}

std::optional<Failure> Client::awaitConnack(Clock::time_point deadline, ConnectInfo& info) {
  // Broker messages may follow the CONNACK in the same read: they stay in the decoder.
  bool peerClosed = false;
  for (;;) {
    wire::Packet p{};
    const auto st = decoder_.next(p);
    if (st == wire::Decoder::Status::Error || st == wire::Decoder::Status::Oversized) {
      return failure(Cause::MalformedPacket, st == wire::Decoder::Status::Error
                                                 ? decoder_.error()
                                                 : "oversized PUBLISH before CONNACK");
    }
    if (st == wire::Decoder::Status::Ok) {
      return connackPacket(p, info);
    }
    if (peerClosed) {
      // Everything the peer sent is decoded and no whole CONNACK is among it.
      return failure(Cause::ConnectionClosedBeforeConnack,
                     transport_->error() + (decoder_.buffered() > 0
                                                ? " (after " + std::to_string(decoder_.buffered()) +
                                                      " bytes of an incomplete packet)"
                                                : ""));
    }
    pollfd fds[2] = {{transport_->fd(), transport_->pollEvents(), 0}, {wakeFd_, POLLIN, 0}};
    const int n = poll(fds, 2, detail::msUntil(deadline));
    if (n < 0 && errno != EINTR) {
      return failure(Cause::SocketError, std::string("poll: ") + std::strerror(errno));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      detail::drainEventFd(wakeFd_);
      if (closing()) {
        return failure(Cause::Aborted, "stopping");
      }
    }
    if (transport_->hasPendingOutput() && !writeAll(deadline)) {
      auto f = failure_.value_or(failure(Cause::SocketError, transport_->error()));
      failure_.reset();
      return f;
    }
    if (fds[0].revents != 0) {
      if (auto f = readBeforeConnack(peerClosed)) {
        return f;
      }
    }
    if (!peerClosed && n == 0 && Clock::now() >= deadline) {
      return failure(Cause::ConnackTimeout,
                     "no CONNACK within " + std::to_string(options_.connectTimeout.count()) + " s");
    }
  }
}

bool Client::writeAll(Clock::time_point deadline) {
  for (;;) {
    const auto io = transport_->flush();
    if (io == wire::Transport::Io::Ok) {
      lastSent_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      return true;
    }
    if (io != wire::Transport::Io::WouldBlock) {
      failure_ = failure(
          io == wire::Transport::Io::Closed ? Cause::ConnectionClosed : transport_->failureCause(),
          transport_->error());
      return false;
    }
    const int ms = detail::msUntil(deadline);
    if (ms <= 0) {
      failure_ = failure(Cause::WriteTimeout, "the peer did not take our output in time");
      return false;
    }
    pollfd fd{transport_->fd(), transport_->pollEvents(), 0};
    if (poll(&fd, 1, ms) < 0 && errno != EINTR) {
      failure_ = failure(Cause::SocketError, std::string("poll: ") + std::strerror(errno));
      return false;
    }
    if ((fd.revents & POLLIN) != 0 && (fd.revents & POLLOUT) == 0) {
      // TLS may need to read to make progress; keep what it reads for the decoder.
      if (transport_->read(decoder_.buffer()) == wire::Transport::Io::Error) {
        failure_ = failure(transport_->failureCause(), transport_->error());
        return false;
      }
    }
  }
}

void Client::handleConnected(const ConnectInfo& info) {
  connected_.store(true, std::memory_order_release);
  endpointConnected();
  const auto n = connections_.fetch_add(1) + 1;
  if (observer_ != nullptr) {
    observer_->onConnected(n > 1);
  }
  setState("connected", nullptr);
  if (listener_ != nullptr) {
    listener_->onConnected(info);
  }
}

void Client::handleFailure(const Failure& f) {
  if (observer_ != nullptr) {
    observer_->onConnectFailed(f);
  }
  setState("failed:" + reasonOf(f), &f);
}

}  // namespace mqb::mqtt

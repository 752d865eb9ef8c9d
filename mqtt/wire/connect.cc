// connectTransport(): DNS, TCP, proxy tunnel, TLS handshake and WebSocket upgrade within one
// deadline.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <exception>

#include "common/text.h"
#include "mqtt/wire/proxy.h"
#include "mqtt/wire/stream_transport.h"

namespace mqb::mqtt::wire {
namespace {

using Clock = std::chrono::steady_clock;
using Io = Transport::Io;

/// Why an I/O failure during the upgrade exchange failed the connect.
Cause upgradeIoCause(const StreamTransport& t) {
  // A TLS 1.3 server judges our certificate after SSL_connect returned: its alert shows up here.
  return t.tlsFailed() ? Cause::TlsHandshakeFailed : Cause::WebSocketUpgradeFailed;
}

/// Waits until the transport can go on with what it wants (read or write), by the deadline;
/// false and `err` otherwise. `phase` names the step in the timeout message.
bool waitUpgrade(StreamTransport& t, Clock::time_point deadline, int abortFd, const char* phase,
                 ConnectError& err) {
  std::string why;
  switch (net::waitFd(t.fd(), t.want(), deadline, abortFd, why)) {
    case net::Wait::Ready:
      return true;
    case net::Wait::Timeout:
      err = {Cause::ConnectTimeout, std::string("WebSocket upgrade took too long (") + phase + ")"};
      return false;
    case net::Wait::Aborted:
      err = {Cause::Aborted, "aborted during the WebSocket upgrade"};
      return false;
    case net::Wait::Failed:
      err = {Cause::WebSocketUpgradeFailed, why};
      return false;
  }
  return false;
}

bool sendRequest(StreamTransport& t, const std::string& request, Clock::time_point deadline,
                 int abortFd, ConnectError& err) {
  for (std::size_t off = 0; off < request.size();) {
    std::size_t put = 0;
    const Io r = t.rawWrite(request.data() + off, request.size() - off, put);
    if (r == Io::Ok) {
      off += put;
    } else if (r == Io::WouldBlock) {
      if (!waitUpgrade(t, deadline, abortFd, "sending the request", err)) {
        return false;
      }
    } else {
      err = {upgradeIoCause(t), "sending the upgrade request: " + t.lastError()};
      return false;
    }
  }
  return true;
}

/// Reads the response up to the end of its headers (at most kMaxUpgradeResponse bytes) into
/// `resp`; `end` is where the blank line starts. What follows it is the first WebSocket bytes.
bool readResponseHeaders(StreamTransport& t, Clock::time_point deadline, int abortFd,
                         std::string& resp, std::size_t& end, ConnectError& err) {
  end = std::string::npos;
  while (end == std::string::npos) {
    if (resp.size() >= kMaxUpgradeResponse) {
      err = {Cause::WebSocketUpgradeFailed, "upgrade response headers too large"};
      return false;
    }
    char buf[4096];
    std::size_t got = 0;
    const Io r = t.rawRead(buf, std::min(sizeof buf, kMaxUpgradeResponse - resp.size()), got);
    if (r == Io::Ok) {
      const std::size_t from = resp.size() < 3 ? 0 : resp.size() - 3;
      resp.append(buf, got);
      end = resp.find("\r\n\r\n", from);
    } else if (r == Io::WouldBlock) {
      if (!waitUpgrade(t, deadline, abortFd, "waiting for the response", err)) {
        return false;
      }
    } else {
      std::string detail = r == Io::Closed ? "connection closed before the upgrade response"
                                           : "reading the upgrade response";
      detail += ": " + t.lastError();
      if (!resp.empty()) {
        detail += " (got: " + common::printable(resp.substr(0, resp.find("\r\n"))) + ")";
      }
      err = {upgradeIoCause(t), detail};
      return false;
    }
  }
  return true;
}

/// HTTP/1.1 upgrade to WebSocket (RFC 6455 section 4) within the deadline.
bool upgrade(StreamTransport& t, const TransportOptions& o, bool hostIsIpv6,
             Clock::time_point deadline, int abortFd, ConnectError& err) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    ERR_clear_error();
    err = {Cause::WebSocketUpgradeFailed, "no random bytes for Sec-WebSocket-Key"};
    return false;
  }
  const std::string key = base64Encode(raw, sizeof raw);
  const std::string request =
      upgradeRequest(o.host, o.port, o.tls, hostIsIpv6, o.websocketPath, key);
  if (request.empty()) {
    err = {Cause::WebSocketUpgradeFailed, "invalid characters in host or path"};
    return false;
  }
  std::string resp;
  std::size_t end = 0;
  if (!sendRequest(t, request, deadline, abortFd, err) ||
      !readResponseHeaders(t, deadline, abortFd, resp, end, err)) {
    return false;
  }
  std::string why;
  if (!checkUpgradeResponse(std::string_view(resp.data(), end + 2), key, why)) {
    err = {Cause::WebSocketUpgradeFailed, why};
    return false;
  }
  t.setWebSocketInput(std::string_view(resp).substr(end + 4));
  return true;
}

/// The TCP connection to the broker, or to the proxy and through its tunnel to the broker.
net::UniqueFd connectSocket(const TransportOptions& o, Clock::time_point deadline, int abortFd,
                            ConnectError& err) {
  const bool proxied = o.proxy.kind != ProxySettings::Kind::None;
  const std::string& host = proxied ? o.proxy.host : o.host;
  const std::uint16_t port = proxied ? o.proxy.port : o.port;
  net::AddrInfoPtr addrs = net::resolve(host, port, deadline, abortFd, err);
  net::UniqueFd sock;
  if (addrs) {
    sock = net::connectTcp(addrs.get(), deadline, abortFd, err);
  }
  if (sock.get() < 0) {
    if (proxied && err.cause != Cause::Aborted) {
      err.detail.insert(0, "proxy: ");
    }
    return sock;
  }
  if (proxied && !openTunnel(sock.get(), o.proxy, o.host, o.port, deadline, abortFd, err)) {
    return net::UniqueFd();
  }
  return sock;
}

std::unique_ptr<Transport> connectImpl(const TransportOptions& o, Clock::time_point deadline,
                                       int abortFd, ConnectError& err) {
  if (net::abortSignalled(abortFd)) {
    err = {Cause::Aborted, "aborted before connecting"};
    return nullptr;
  }
  if (Clock::now() >= deadline) {
    err = {Cause::ConnectTimeout, "the deadline passed before connecting"};
    return nullptr;
  }
  if (o.host.empty()) {
    err = {Cause::DnsFailed, "empty host name"};
    return nullptr;
  }
  in6_addr v6{};
  in_addr v4{};
  const bool isIpv6 = inet_pton(AF_INET6, o.host.c_str(), &v6) == 1;
  const bool isIp = isIpv6 || inet_pton(AF_INET, o.host.c_str(), &v4) == 1;

  tls::SslCtxPtr ctx;
  if (o.tls) {
    ctx = tls::makeContext(o, err);  // before any network I/O: bad files fail fast
    if (!ctx) {
      return nullptr;
    }
  }
  net::UniqueFd sock = connectSocket(o, deadline, abortFd, err);
  if (sock.get() < 0) {
    return nullptr;
  }
  tls::SslPtr ssl;
  if (o.tls) {
    ssl = tls::makeSsl(ctx.get(), sock.get(), o.host, isIp, o.verifyPeer, err);
    if (!ssl) {
      return nullptr;
    }
    ctx.reset();  // the SSL holds its own reference
    if (!tls::handshake(ssl.get(), sock.get(), o.verifyPeer, deadline, abortFd, err)) {
      return nullptr;
    }
  }
  auto t = std::make_unique<StreamTransport>(std::move(sock), std::move(ssl), o.websocket);
  if (o.websocket && !upgrade(*t, o, isIpv6, deadline, abortFd, err)) {
    return nullptr;
  }
  err = {};
  return t;
}

}  // namespace

std::unique_ptr<Transport> connectTransport(const TransportOptions& o,
                                            std::chrono::steady_clock::time_point deadline,
                                            int abortFd, ConnectError& err) {
  err = {};
  try {
    return connectImpl(o, deadline, abortFd, err);
  } catch (const std::exception& e) {
    err = {Cause::TcpConnectFailed, std::string("internal error: ") + e.what()};
  } catch (...) {
    err = {Cause::TcpConnectFailed, "internal error"};
  }
  return nullptr;
}

}  // namespace mqb::mqtt::wire

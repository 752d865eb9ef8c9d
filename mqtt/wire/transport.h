#pragma once
// The byte transport under the MQTT client: TCP, TLS (OpenSSL), WebSocket (ws) and WebSocket over
// TLS (wss). connectTransport() does everything up to the first MQTT byte (DNS, TCP connect, TLS
// handshake with chain + hostname/IP verification, WebSocket upgrade) within a deadline and can be
// aborted through a file descriptor; afterwards the Transport is fully non-blocking and meant to be
// driven by a poll() loop:
//
//   pollfd p{t->fd(), t->pollEvents(), 0};
//   poll(&p, 1, timeout);
//   if (p.revents != 0) {
//     // read() until WouldBlock (TLS may hold decrypted bytes the socket no longer shows), then
//     // flush() if hasPendingOutput(). Do both on ANY revents (TLS can need a write to progress a
//     // read and a read to progress a write).
//   }
//
// Bytes may already be buffered inside the transport when connectTransport() returns (WebSocket
// frames that came with the 101 response, TLS records read ahead), so a loop should read() until
// WouldBlock before its first poll() too (an MQTT client does: it sends CONNECT and then reads).
//
// Nothing in here throws; errors are return values.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/failure.h"

namespace mqb::mqtt::wire {

/// A proxy in front of the broker (see proxy.h): the TCP connection goes to the proxy, which is
/// asked for a tunnel to the broker's host:port (the proxy resolves the name); TLS and the
/// WebSocket upgrade then run through the tunnel.
struct ProxySettings {
  enum class Kind : std::uint8_t { None, HttpConnect, Socks5 };
  Kind kind = Kind::None;
  std::string host;  ///< DNS name or IP literal, without brackets
  std::uint16_t port = 0;
  std::string username;  ///< "" = no authentication; never logged
  std::string password;  ///< never logged
};

/// Where and how to connect.
struct TransportOptions {
  /// DNS name, IPv4 literal or IPv6 literal without brackets.
  std::string host;
  /// TCP port.
  std::uint16_t port = 0;
  /// TLS on top of TCP (mqtts, or wss with `websocket`).
  bool tls = false;
  /// WebSocket on top of TCP/TLS (ws, or wss with `tls`); subprotocol "mqtt".
  bool websocket = false;
  /// GET path of the WebSocket upgrade request.
  std::string websocketPath = "/mqtt";
  /// Trusted CA PEM files (each may hold several certificates); empty = the system trust store.
  std::vector<std::string> caFiles;
  /// Client certificate PEM (may contain a chain after the leaf); empty = no client certificate.
  std::string certFile;
  /// Optional PEM of extra chain certificates sent after the leaf (intermediate CAs); "" = none.
  std::string intermediateFile;
  /// Client private key PEM; empty = the key is in `certFile`.
  std::string keyFile;
  /// TLS: the ALPN protocols offered, in order of preference (e.g. "mqtt"); empty = no ALPN.
  std::vector<std::string> alpn;
  /// The proxy the connection goes through (Kind::None = direct).
  ProxySettings proxy;
  /// Verify the certificate chain and the host name / IP address of the server. Always true in
  /// production; false only for diagnostics (the chain is then not checked at all).
  bool verifyPeer = true;
};

/// Why a connect failed: DnsFailed, TcpConnectFailed (of the proxy too: the detail names it),
/// ProxyRefused, ProxyProtocolError, ConnectTimeout, Aborted, TlsSetupFailed
/// (bad CA/cert/key file; detail names the file), TlsHandshakeFailed (detail: "certificate verify
/// failed: <X509 verify error>" or OpenSSL's error queue) or WebSocketUpgradeFailed (detail: the
/// status line or what was wrong with the response).
struct ConnectError {
  Cause cause = Cause::TcpConnectFailed;
  /// Human-readable detail for logs (never contains secrets).
  std::string detail;
};

/// A connected, non-blocking byte stream (TCP, TLS, ws or wss). Not thread-safe: one thread drives
/// it. All members are noexcept in practice (no exceptions escape).
class Transport {
 public:
  /// Result of an I/O step.
  enum class Io {
    Ok,          ///< progress: read() appended >= 1 byte / flush() wrote everything
    WouldBlock,  ///< nothing possible now: poll for pollEvents()
    Closed,      ///< orderly close by the peer (TCP/TLS EOF, TLS close_notify, WebSocket close)
    Error,       ///< connection broken; see error()
  };

  /// Closes the socket (call shutdown() first for an orderly close).
  virtual ~Transport() = default;

  /// The socket, for poll().
  virtual int fd() const = 0;

  /// Non-blocking. Appends what is available (at most ~64 KiB per call) to `in`. Ok = appended >=
  /// 1 byte; WouldBlock = nothing now; Closed = orderly close by the peer (for WebSocket: a close
  /// frame or EOF); Error = see error(). After Ok, call read() again until it returns WouldBlock
  /// (TLS may hold decrypted bytes that poll() does not show). For WebSocket only the payload of
  /// binary/continuation frames reaches `in`; pings are answered (a pong is queued: flush()).
  virtual Io read(std::string& in) = 0;

  /// Takes `data` for sending and clears it (plain TCP/TLS may swap buffers to avoid a copy when
  /// nothing is pending). For WebSocket, `data` becomes one masked binary frame. Never blocks,
  /// never fails (errors surface in flush()). Empty `data` queues nothing; after shutdown() or a
  /// received WebSocket close, WebSocket data is dropped.
  virtual void queue(std::string& data) = 0;

  /// Writes as much queued output as the socket accepts now. Ok = nothing left; WouldBlock = some
  /// left (poll for pollEvents()); Closed/Error as in read().
  virtual Io flush() = 0;

  /// True while queued output has not been fully written.
  virtual bool hasPendingOutput() const = 0;

  /// Bytes queued and not written yet (WebSocket framing included).
  virtual std::size_t pendingOutput() const = 0;

  /// poll() events to wait for now: POLLIN always, plus POLLOUT when output is pending or TLS
  /// wants to write to progress a read.
  virtual short pollEvents() const = 0;

  /// Asks poll() to report POLLIN only once `bytes` (>= 1) are buffered in the kernel, or at EOF
  /// or an error (SO_RCVLOWAT). Plain TCP only, where the socket's bytes are the caller's bytes:
  /// with TLS or WebSocket a partly read record or frame could need fewer bytes than asked for,
  /// so those return false and keep reporting every byte. Also false if setsockopt failed.
  virtual bool setReceiveLowWater(int bytes) noexcept = 0;

  /// What went wrong after Error (or why Closed, when known); "" otherwise.
  virtual const std::string& error() const = 0;

  /// After Error or Closed: ConnectionClosed (an orderly close: EOF, close_notify, a WebSocket
  /// close frame), WebSocketProtocolError, or SocketError (anything else).
  virtual Cause failureCause() const = 0;

  /// Best-effort orderly shutdown (WebSocket close frame, then TLS close_notify), non-blocking:
  /// whatever the socket does not take now is dropped. The destructor then closes the socket.
  virtual void shutdown() noexcept = 0;
};

/// Resolves `o.host` (getaddrinfo; tries each address in turn), connects TCP (non-blocking
/// connect + poll), sets TCP_NODELAY, does the TLS handshake and/or the WebSocket upgrade.
/// Blocks the calling thread at most until `deadline` (a deadline already passed fails with
/// ConnectTimeout at once); returns early with Aborted as soon as `abortFd` (an eventfd or pipe
/// read end, -1 = none) becomes readable (it is polled, never read). Returns nullptr and fills
/// `err` on failure. The returned transport's socket is non-blocking.
std::unique_ptr<Transport> connectTransport(const TransportOptions& o,
                                            std::chrono::steady_clock::time_point deadline,
                                            int abortFd, ConnectError& err);

}  // namespace mqb::mqtt::wire

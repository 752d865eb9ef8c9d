#pragma once
// Why a connection attempt failed or an established connection ended: a closed set of causes
// (stable snake_case names for logs), the MQTT reason code where the peer gave one, and a detail
// text for people. A cause is chosen where the failure is detected, never recovered from text.

#include <cstdint>
#include <string>
#include <string_view>

namespace mqb::mqtt {

enum class Cause : std::uint8_t {
  // Before the connection is up.
  DnsFailed,                      ///< the host name did not resolve
  TcpConnectFailed,               ///< refused, unreachable
  ConnectTimeout,                 ///< the connect timeout passed before CONNACK (TCP/TLS/WS stage)
  TlsSetupFailed,                 ///< a CA, certificate or key file could not be used
  TlsHandshakeFailed,             ///< the handshake failed (verification, protocol, alert)
  WebSocketUpgradeFailed,         ///< the HTTP upgrade was refused or its answer was wrong
  CredentialsUnreadable,          ///< a credential file could not be read
  TokenFetchFailed,               ///< the managed-identity token could not be obtained
  EnhancedAuthNeedsV5,            ///< a token method was configured with MQTT 3.1.1
  ConnackTimeout,                 ///< connected, but no CONNACK within the connect timeout
  ConnectionClosedBeforeConnack,  ///< the peer closed before a whole CONNACK arrived
  MalformedConnack,               ///< the CONNACK broke the rules
  ConnackRefused,                 ///< the CONNACK refused us (code: the reason/return code)
  // Either phase.
  MalformedPacket,  ///< bytes that are not an MQTT packet (framing, a PUBLISH that cannot be read)
  ProtocolError,    ///< a well-formed packet the protocol does not allow here
  PacketTooLarge,   ///< a packet other than PUBLISH over our Maximum Packet Size
  // Once connected.
  ConnectionClosed,        ///< orderly close by the peer without DISCONNECT
  SocketError,             ///< a read or write failed (reset, TLS error)
  WriteTimeout,            ///< the peer did not take our output in time
  KeepAliveTimeout,        ///< nothing at all came back for the keep-alive and its grace
  ServerDisconnect,        ///< the server sent DISCONNECT (code: its reason code)
  WebSocketProtocolError,  ///< the WebSocket peer broke RFC 6455
  AckTimeout,  ///< publishes outstanding and no acknowledgement for ClientOptions::ackTimeout
  /// The client closed the connection on purpose to reconnect at once: rotated credentials, or
  /// a re-authentication the broker did not accept. Not a failure of the peer.
  Reconnecting,
  ProxyRefused,        ///< the proxy answered but refused the tunnel (status, SOCKS reply)
  ProxyProtocolError,  ///< the proxy's answer was malformed, oversized or cut short
  ReturningToPrimary,  ///< we disconnected from a fallback endpoint: the primary is back
  Aborted,             ///< stop() interrupted the attempt (not logged as a failure)
};

/// The stable snake_case name of a cause ("tls_handshake_failed").
std::string_view name(Cause c) noexcept;

/// A failure with its cause. `code` is the MQTT reason code (v5) or CONNACK return code (v3) the
/// peer sent, for ConnackRefused and ServerDisconnect; `v5` tells which table names it.
struct Failure {
  Cause cause = Cause::SocketError;
  std::uint8_t code = 0;
  bool v5 = true;
  std::string detail;  ///< for people; never holds a secret
};

/// The `reason` a log line gives: the CONNACK's reason name for a refusal ("not_authorized",
/// "bad_user_name_or_password" in v5, "bad_username_or_password" in 3.1.1), the cause's name
/// otherwise.
std::string reasonOf(const Failure& f);

/// The `detail` a log line gives: for ServerDisconnect the reason name and code first, then
/// `detail` (the server's reason string).
std::string detailOf(const Failure& f);

/// Coarse classes for bounded metric labels.
enum class FailureClass : std::uint8_t { Refused, NotAuthorized, Tls, Network, Protocol, Other };
FailureClass classify(const Failure& f) noexcept;

}  // namespace mqb::mqtt

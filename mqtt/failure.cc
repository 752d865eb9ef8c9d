#include "mqtt/failure.h"

#include <cstdio>

#include "mqtt/wire/codec.h"

namespace mqb::mqtt {

std::string_view name(Cause c) noexcept {
  switch (c) {
    case Cause::DnsFailed:
      return "dns_failed";
    case Cause::TcpConnectFailed:
      return "tcp_connect_failed";
    case Cause::ConnectTimeout:
      return "connect_timeout";
    case Cause::TlsSetupFailed:
      return "tls_setup_failed";
    case Cause::TlsHandshakeFailed:
      return "tls_handshake_failed";
    case Cause::WebSocketUpgradeFailed:
      return "websocket_upgrade_failed";
    case Cause::CredentialsUnreadable:
      return "credentials_unreadable";
    case Cause::TokenFetchFailed:
      return "token_fetch_failed";
    case Cause::EnhancedAuthNeedsV5:
      return "enhanced_auth_needs_v5";
    case Cause::ConnackTimeout:
      return "connack_timeout";
    case Cause::ConnectionClosedBeforeConnack:
      return "connection_closed_before_connack";
    case Cause::MalformedConnack:
      return "malformed_connack";
    case Cause::ConnackRefused:
      return "connack_refused";
    case Cause::MalformedPacket:
      return "malformed_packet";
    case Cause::ProtocolError:
      return "protocol_error";
    case Cause::PacketTooLarge:
      return "packet_too_large";
    case Cause::ConnectionClosed:
      return "connection_closed";
    case Cause::SocketError:
      return "socket_error";
    case Cause::WriteTimeout:
      return "write_timeout";
    case Cause::AckTimeout:
      return "ack_timeout";
    case Cause::Reconnecting:
      return "reconnecting";
    case Cause::KeepAliveTimeout:
      return "keep_alive_timeout";
    case Cause::ServerDisconnect:
      return "server_disconnect";
    case Cause::WebSocketProtocolError:
      return "websocket_protocol_error";
    case Cause::ProxyRefused:
      return "proxy_refused";
    case Cause::ProxyProtocolError:
      return "proxy_protocol_error";
    case Cause::ReturningToPrimary:
      return "returning_to_primary";
    case Cause::Aborted:
      return "aborted";
  }
  return "unknown";
}

std::string reasonOf(const Failure& f) {
  if (f.cause == Cause::ConnackRefused) {
    return f.v5 ? wire::reasonName(f.code) : wire::v3ConnackName(f.code);
  }
  return std::string(name(f.cause));
}

std::string detailOf(const Failure& f) {
  if (f.cause != Cause::ServerDisconnect) {
    return f.detail;
  }
  char code[8];
  std::snprintf(code, sizeof code, "0x%02X", f.code);
  std::string out =
      (f.v5 ? wire::reasonName(f.code) : std::string("disconnect")) + " (" + code + ")";
  if (!f.detail.empty()) {
    out += ": " + f.detail;
  }
  return out;
}

FailureClass classify(const Failure& f) noexcept {
  switch (f.cause) {
    case Cause::TlsSetupFailed:
    case Cause::TlsHandshakeFailed:
      return FailureClass::Tls;
    case Cause::CredentialsUnreadable:
    case Cause::TokenFetchFailed:
      return FailureClass::NotAuthorized;
    case Cause::ConnackRefused:
      if (f.v5) {
        switch (f.code) {
          case 0x86:  // bad user name or password
          case 0x87:  // not authorized
          case 0x8A:  // banned
          case 0x8C:  // bad authentication method
            return FailureClass::NotAuthorized;
          case 0x81:  // malformed packet
          case 0x82:  // protocol error
          case 0x84:  // unsupported protocol version
            return FailureClass::Protocol;
          default:
            return FailureClass::Refused;
        }
      }
      if (f.code == 4 || f.code == 5) {
        return FailureClass::NotAuthorized;
      }
      return f.code == 1 ? FailureClass::Protocol : FailureClass::Refused;
    case Cause::EnhancedAuthNeedsV5:
    case Cause::WebSocketUpgradeFailed:
    case Cause::MalformedConnack:
    case Cause::MalformedPacket:
    case Cause::ProtocolError:
    case Cause::PacketTooLarge:
    case Cause::WebSocketProtocolError:
    case Cause::ProxyProtocolError:
      return FailureClass::Protocol;
    case Cause::DnsFailed:
    case Cause::TcpConnectFailed:
    case Cause::ConnectTimeout:
    case Cause::ConnackTimeout:
    case Cause::ConnectionClosedBeforeConnack:
    case Cause::ConnectionClosed:
    case Cause::SocketError:
    case Cause::WriteTimeout:
    case Cause::KeepAliveTimeout:
    case Cause::AckTimeout:
    case Cause::ServerDisconnect:
    case Cause::ProxyRefused:
      return FailureClass::Network;
    case Cause::Reconnecting:
    case Cause::Aborted:
    case Cause::ReturningToPrimary:
      return FailureClass::Other;
  }
  return FailureClass::Other;
}

}  // namespace mqb::mqtt

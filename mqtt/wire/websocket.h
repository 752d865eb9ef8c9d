#pragma once
// WebSocket (RFC 6455) for MQTT over WebSocket, client side, without sockets: the opening
// handshake's request and the check of the server's answer, and a framer that turns the
// server's frames into the byte stream they carry and the client's bytes into masked frames.
// Everything the server sends is checked; whatever breaks the RFC is an error, never guessed at.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqb::mqtt::wire {

/// Upper bound of the upgrade response's status line and headers.
inline constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;

/// The HTTP/1.1 upgrade request (section 4.1) for `path` on host:port, with subprotocol "mqtt"
/// and `key` (base64 of 16 random bytes). The Host header brackets an IPv6 literal and omits
/// the default port (443 with TLS, 80 without). Empty if host or path hold control characters
/// or spaces (they would split the request).
std::string upgradeRequest(const std::string& host, std::uint16_t port, bool tls, bool hostIsIpv6,
                           const std::string& path, const std::string& key);

/// Checks the server's answer to upgradeRequest(): `head` is the status line and headers (through
/// the CRLF of the last header). 101, `Upgrade: websocket`, `Connection` with the `upgrade` token,
/// the Sec-WebSocket-Accept that matches `key`, no other subprotocol than mqtt, no extension.
/// False with `why` (the status line, then what is wrong) otherwise.
bool checkUpgradeResponse(std::string_view head, const std::string& key, std::string& why);

/// base64 (RFC 4648, with padding) of `data`.
std::string base64Encode(const unsigned char* data, std::size_t len);

/// The Sec-WebSocket-Accept value a server must answer for `key` (section 4.2.2).
std::string websocketAccept(const std::string& key);

/// The frames of one client connection. Not thread-safe.
class WebSocketFramer {
 public:
  enum class Status {
    NeedMore,  ///< everything complete was consumed
    Closed,    ///< the server sent a valid close frame (closeText() says what it said)
    Error,     ///< the server broke RFC 6455 (error() says how); nothing more is parsed
  };

  WebSocketFramer();

  /// Raw bytes received from the server.
  void feed(const char* data, std::size_t n);
  /// Parses what was fed: the payload of binary and continuation frames is appended to `out`
  /// (`delivered` grows by its size), a ping leaves a pong to send (pongPending()), a close frame
  /// ends with Closed. Rules: server frames are never masked, no RSV bit (no extension is ever
  /// negotiated), no text frame (MQTT is binary), control frames unfragmented and at most 125
  /// bytes, continuations only inside a fragmented message, a 64-bit length without its top bit,
  /// a close frame's code one that may be sent (1000-1003, 1007-1014, 3000-4999) and its reason
  /// UTF-8. Holds at most one partial frame header or control frame beyond what it was fed.
  Status parse(std::string& out, std::size_t& delivered);

  /// In the middle of a data frame with nothing buffered: how many payload bytes may be received
  /// straight into the caller's buffer (0 otherwise). tookDirect(n) accounts for them.
  std::uint64_t directPayload() const noexcept;
  void tookDirect(std::size_t n) noexcept;
  /// Bytes fed and not parsed yet.
  std::size_t buffered() const noexcept { return in_.size() - off_; }

  /// A ping arrived since the last takePong(): its payload (only the latest ping's, as section
  /// 5.5.3 allows, so that a ping flood queues one pong, not one per ping).
  bool takePong(std::string& payload);

  /// After Closed: the status code (0 if none) and a printable description.
  unsigned closeCode() const noexcept { return closeCode_; }
  const std::string& closeText() const noexcept { return closeText_; }
  const std::string& error() const noexcept { return error_; }

  /// Appends one masked frame (FIN set) of `opcode` with `payload` (mask key from a CSPRNG pool,
  /// section 5.3).
  void frame(unsigned opcode, const char* payload, std::size_t n, std::string& out);

 private:
  Status fail(std::string why);
  Status onClose(const unsigned char* payload, std::size_t n);
  /// Appends what has arrived of the current data frame's payload; false until all of it has.
  bool takePayload(std::string& out, std::size_t& delivered);
  /// A whole control frame (close, ping, pong): the status to return, or nullopt to go on.
  std::optional<Status> controlFrame(unsigned opcode, const unsigned char* payload, std::size_t n);
  /// The start of a data frame: a failure, or nullopt when the opcode fits the message state.
  std::optional<Status> dataFrame(unsigned opcode, bool fin);
  void randomBytes(unsigned char* out, std::size_t n) noexcept;

  std::string in_;  ///< raw bytes not parsed yet (from off_)
  std::size_t off_ = 0;
  bool inDataFrame_ = false;       ///< a binary/continuation frame's payload is being delivered
  std::uint64_t payloadLeft_ = 0;  ///< its payload bytes still to come
  bool fragmented_ = false;        ///< inside a message whose last frame (FIN) has not come
  bool pongPending_ = false;
  std::string pong_;
  unsigned closeCode_ = 0;
  std::string closeText_;
  std::string error_;
  unsigned char pool_[256] = {};
  std::size_t poolUsed_ = sizeof pool_;
};

}  // namespace mqb::mqtt::wire

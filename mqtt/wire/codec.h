#pragma once
// The MQTT 3.1.1 / 5.0 packet codec: encoders that append whole packets to a std::string, an
// incremental frame decoder, and parsers for the packet bodies a client receives. Pure functions
// and one small class: no sockets, no threads, no logging, no exceptions.
//
// Encoders append to `out` (they never clear it) and assume well-formed arguments: strings longer
// than 65535 bytes are truncated to 65535 (the MQTT string/binary limit) so the packet stays
// well-formed, QoS values above 2 are treated as 2, and a packet whose remaining length exceeds
// 268435455 cannot be represented (check publishSize() against the broker's limit first).
//
// Parsers never read outside their input, never throw and are strict: bytes left over after the
// last field, a string longer than what remains, a property of the wrong type for its id or an
// unknown property id all make them return false with a short reason in *error. On failure the
// output arguments hold unspecified (but valid) values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/message.h"

namespace mqb::sources::wire {

/// The protocol level byte of CONNECT.
enum class Version : std::uint8_t { V311 = 4, V5 = 5 };

/// The control packet type (high nibble of the fixed header's first byte).
enum class PacketType : std::uint8_t {
  Connect = 1,
  Connack,
  Publish,
  Puback,
  Pubrec,
  Pubrel,
  Pubcomp,
  Subscribe,
  Suback,
  Unsubscribe,
  Unsuback,
  Pingreq,
  Pingresp,
  Disconnect,
  Auth
};

/// The will message of a CONNECT (v5: written with empty will properties).
struct Will {
  std::string topic;
  std::string payload;  ///< binary
  std::uint8_t qos = 0;
  bool retain = false;
};

/// Everything encodeConnect writes.
struct ConnectPacket {
  Version version = Version::V5;
  std::string clientId;
  bool cleanStart = true;  ///< v3: the clean session flag
  std::uint16_t keepAliveSeconds = 60;
  std::uint32_t sessionExpirySeconds = 0;  ///< v5 SESSION_EXPIRY_INTERVAL, written only when > 0
  std::uint16_t receiveMaximum = 0;        ///< v5 RECEIVE_MAXIMUM, written only when > 0
  std::uint32_t maximumPacketSize = 0;     ///< v5 MAXIMUM_PACKET_SIZE, written only when > 0
  std::optional<std::string> username;
  /// Binary allowed. MQTT 3.1.1 forbids a password without a user name [MQTT-3.1.2-22]: for V311
  /// the password is written only when `username` is set too (silently dropped otherwise).
  std::optional<std::string> password;
  std::string authMethod;  ///< v5 AUTHENTICATION_METHOD, written when non-empty
  std::string authData;    ///< v5 AUTHENTICATION_DATA, written when authMethod and it are non-empty
  std::optional<Will> will;
};

/// Appends a CONNECT packet. Property order (v5): session expiry, receive maximum, maximum packet
/// size, authentication method, authentication data.
void encodeConnect(const ConnectPacket& p, std::string& out);

/// A parsed CONNACK. For v3 only sessionPresent and reasonCode are meaningful (the rest keep their
/// defaults).
struct Connack {
  bool sessionPresent = false;
  std::uint8_t reasonCode = 0;                   ///< v3 return code (0..5) or v5 reason code
  std::uint16_t receiveMaximum = 65535;          ///< v5 RECEIVE_MAXIMUM, 65535 if absent
  std::uint32_t maximumPacketSize = 0;           ///< v5 MAXIMUM_PACKET_SIZE, 0 = absent (no limit)
  std::uint8_t maximumQos = 2;                   ///< v5 MAXIMUM_QOS, 2 if absent
  bool retainAvailable = true;                   ///< v5 RETAIN_AVAILABLE, true if absent
  std::uint16_t topicAliasMaximum = 0;           ///< v5 TOPIC_ALIAS_MAXIMUM, 0 if absent
  std::optional<std::uint16_t> serverKeepAlive;  ///< v5 SERVER_KEEP_ALIVE
  std::string assignedClientId;                  ///< v5 ASSIGNED_CLIENT_IDENTIFIER
  std::string reasonString;                      ///< v5 REASON_STRING
  std::string authMethod;                        ///< v5 AUTHENTICATION_METHOD
  std::string authData;                          ///< v5 AUTHENTICATION_DATA (binary)
};

/// Appends a PUBLISH packet. `props` may be null (no properties); `extraUser` (may be null) is
/// appended as one more user property after props->user (the bridge's hop marker).
/// `expiryOverride`, if set, is written as MESSAGE_EXPIRY_INTERVAL instead of
/// props->messageExpirySeconds. For V311 no properties are written (props, extraUser and
/// expiryOverride are ignored). QoS 0: no packet id is written and DUP is forced to 0
/// [MQTT-3.3.1-2]. Property order: payload format, message expiry, content type, response topic,
/// correlation data, user properties. Grows `out` at most once (geometrically, so appending many
/// packets to one buffer stays linear) and builds no temporary strings.
void encodePublish(Version v, std::string_view topic, std::string_view payload, std::uint8_t qos,
                   bool retain, bool dup, std::uint16_t packetId, const pipeline::Properties* props,
                   const pipeline::UserProperty* extraUser,
                   std::optional<std::uint32_t> expiryOverride, std::string& out);

/// The exact number of bytes encodePublish would append with the same arguments (for a broker's
/// Maximum Packet Size check). No allocation.
std::size_t publishSize(Version v, std::string_view topic, std::size_t payloadSize,
                        std::uint8_t qos, const pipeline::Properties* props,
                        const pipeline::UserProperty* extraUser,
                        std::optional<std::uint32_t> expiryOverride);

/// Appends a PUBACK, PUBREC, PUBREL or PUBCOMP (`type`; PUBREL gets the fixed-header flags 0x2).
/// v5: the reason byte is written only when != 0 (the short form otherwise), never properties.
void encodeAck(Version v, PacketType type, std::uint16_t packetId, std::uint8_t reasonCode,
               std::string& out);

/// Subscription options of one filter: the v5 options byte (v3 writes the QoS only).
struct SubscribeOptions {
  std::uint8_t qos = 1;
  bool noLocal = false;
  bool retainAsPublished = false;
  std::uint8_t retainHandling = 0;  ///< 0..2
};

/// Appends a SUBSCRIBE for one filter (v5: empty properties).
void encodeSubscribe(Version v, std::uint16_t packetId, std::string_view filter,
                     const SubscribeOptions& o, std::string& out);

/// Appends an UNSUBSCRIBE for one filter (v5: empty properties).
void encodeUnsubscribe(Version v, std::uint16_t packetId, std::string_view filter,
                       std::string& out);

/// Appends a PINGREQ (C0 00).
void encodePingreq(std::string& out);

/// Appends a DISCONNECT. v5: the reason code byte, plus a SESSION_EXPIRY_INTERVAL property when
/// `sessionExpiry` is set (the property length is omitted otherwise, as §3.14.2.2 allows);
/// v3: E0 00 (reasonCode and sessionExpiry ignored).
void encodeDisconnect(Version v, std::uint8_t reasonCode,
                      std::optional<std::uint32_t> sessionExpiry, std::string& out);

/// Appends a v5 AUTH (reason 0x18 continue authentication / 0x19 re-authenticate) carrying
/// AUTHENTICATION_METHOD (when non-empty) and AUTHENTICATION_DATA (when non-empty).
void encodeAuth(std::uint8_t reasonCode, std::string_view method, std::string_view data,
                std::string& out);

/// One received packet. `body` (variable header + payload) points into the Decoder's buffer and
/// stays valid until the next feed()/buffer()/reset() call. `flags` is the low nibble of the
/// fixed header, not checked by the Decoder (parsePublish interprets it for PUBLISH).
struct Packet {
  PacketType type = PacketType::Connect;
  std::uint8_t flags = 0;
  std::string_view body;
};

/// Incremental frame decoder. Usage: append incoming bytes with feed() (or directly to buffer()),
/// then call next() until it returns NeedMore. After Error the stream cannot be resynchronised:
/// next() keeps returning Error until reset().
class Decoder {
 public:
  /// `maxPacketSize` bounds the whole packet (fixed header included), like MQTT's Maximum Packet
  /// Size; the default admits the largest packet MQTT can express.
  explicit Decoder(std::size_t maxPacketSize = 268435455 + 5);

  /// The result of next().
  enum class Status { Ok, NeedMore, Error };

  /// Appends received bytes (invalidates the views of earlier packets).
  void feed(const char* data, std::size_t n);
  /// Direct access for zero-copy reads: the caller appends to this string (e.g. recv into its
  /// tail), the decoder consumes from its front. Consumed bytes are discarded lazily (here and in
  /// feed(), when more than half of the buffer is consumed), so views from next() stay valid until
  /// the next feed()/buffer() call. Only append to it; never erase or modify existing bytes.
  std::string& buffer();
  /// The next complete packet. Error: reserved packet type 0, malformed remaining length (more
  /// than 4 bytes), packet over maxPacketSize (detected as soon as the fixed header is complete,
  /// before the body arrives); error() says which.
  Status next(Packet& out);
  /// Why the last next() returned Error (empty otherwise).
  const std::string& error() const;
  /// Unconsumed bytes.
  std::size_t buffered() const;
  /// Drops everything buffered and clears the error (for a new connection).
  void reset();

 private:
  void compact();

  std::string buf_;
  std::size_t pos_ = 0;  ///< consumed bytes at the front of buf_
  std::size_t maxPacketSize_;
  std::string error_;
};

/// CONNACK. v3: exactly flags + return code. v5: flags + reason code + properties; a v5 CONNACK
/// that ends after the reason code (what a 3.1.1-only broker answers a v5 CONNECT with) is
/// accepted as having no properties. Reserved flag bits, RECEIVE_MAXIMUM 0, MAXIMUM_PACKET_SIZE
/// 0, MAXIMUM_QOS or RETAIN_AVAILABLE above 1 are errors.
bool parseConnack(Version v, std::string_view body, Connack& out, std::string* error = nullptr);

/// PUBLISH (`flags` = Packet::flags). Fills m.topic, m.payload (one copy each), m.qos, m.retain
/// and m.props with the forwardable properties only (payload format, message expiry, content type,
/// response topic, correlation data, user properties in order); other Message fields are left
/// alone. Subscription identifiers are skipped. A TOPIC_ALIAS property is reported via
/// *topicAlias (0 if none; alias 0 is an error); an empty topic without an alias is an error.
/// QoS 3, packet id 0 with QoS > 0 and a payload format above 1 are errors. packetId = 0 for
/// QoS 0. Reuses the capacity of m's strings and user property vector (no allocation when they
/// are large enough).
bool parsePublish(Version v, std::uint8_t flags, std::string_view body, pipeline::Message& m,
                  std::uint16_t& packetId, bool& dup, std::uint16_t* topicAlias = nullptr,
                  std::string* error = nullptr);

/// PUBACK/PUBREC/PUBREL/PUBCOMP and v3 UNSUBACK: the packet id (0 is an error) plus, for v5, the
/// reason code (0 when the short form omits it); v5 properties are checked and skipped.
bool parseAck(Version v, std::string_view body, std::uint16_t& packetId, std::uint8_t& reasonCode,
              std::string* error = nullptr);

/// SUBACK (v3, v5) and UNSUBACK (v5; a v3 UNSUBACK gives an empty list): the packet id and one
/// reason/return code per filter of the request; v5 properties are checked and skipped. An empty
/// list is accepted (the caller compares the count with what it sent).
bool parseSuback(Version v, std::string_view body, std::uint16_t& packetId,
                 std::vector<std::uint8_t>& codes, std::string* error = nullptr);

/// DISCONNECT from the server. v5: reason code (0 for an empty body) and REASON_STRING if present
/// (cleared otherwise); v3: the body must be empty (reason 0).
bool parseDisconnect(Version v, std::string_view body, std::uint8_t& reasonCode,
                     std::string& reasonString, std::string* error = nullptr);

/// AUTH (v5 only): reason code (0 for an empty body), AUTHENTICATION_METHOD and
/// AUTHENTICATION_DATA (each cleared when absent).
bool parseAuth(std::string_view body, std::uint8_t& reasonCode, std::string& method,
               std::string& data, std::string* error = nullptr);

/// snake_case name of an MQTT 5 reason code (§2.4), the labels the Paho-based client used
/// (0x87 → "not_authorized", 0x86 → "bad_user_name_or_password", 0x04 →
/// "disconnect_with_will_message", 0x19 → "re_authenticate", ...), except 0, which is
/// "normal_disconnection" (the only packet whose code 0 gets named is a DISCONNECT; Paho said
/// "success"). Unknown codes → "reason_<n>".
std::string reasonName(std::uint8_t code);

/// Name of a v3.1.1 CONNACK return code 1..5: unacceptable_protocol_version, identifier_rejected,
/// server_unavailable, bad_username_or_password, not_authorized; 0 → "accepted", others →
/// "return_code_<n>".
std::string v3ConnackName(std::uint8_t code);

}  // namespace mqb::sources::wire

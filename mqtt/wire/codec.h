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
// Parsers never read outside their input, never throw and are strict: everything MQTT constrains
// is checked, not only the framing. Bytes left over after the last field, a string longer than
// what remains, an unknown property id, a property the packet type may not carry, a property
// given twice (User Property and Subscription Identifier excepted), a UTF-8 string field that is
// not valid MQTT UTF-8 (utf8.h), a reason code the packet type does not define, or a value out of
// its range all make them fail with a short reason in *error. On failure the output arguments
// hold unspecified (but valid) values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/message.h"

namespace mqb::mqtt::wire {

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
                   bool retain, bool dup, std::uint16_t packetId, const Properties* props,
                   const UserProperty* extraUser, std::optional<std::uint32_t> expiryOverride,
                   std::string& out);

/// The exact number of bytes encodePublish would append with the same arguments (for a broker's
/// Maximum Packet Size check). No allocation.
std::size_t publishSize(Version v, std::string_view topic, std::size_t payloadSize,
                        std::uint8_t qos, const Properties* props, const UserProperty* extraUser,
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
/// fixed header, not checked by the Decoder (parsePublish interprets it for PUBLISH). `size` is
/// the whole packet's size on the wire, fixed header included; for an oversized PUBLISH (see
/// Decoder::next) `body` holds only its first bytes.
struct Packet {
  PacketType type = PacketType::Connect;
  std::uint8_t flags = 0;
  std::string_view body;
  std::size_t size = 0;
};

/// Incremental frame decoder with a bound on what one packet may make it hold. Usage: append
/// incoming bytes with feed() (or directly to buffer()), then call next() until it returns
/// NeedMore. After Error the stream cannot be resynchronised: next() keeps returning Error until
/// reset().
class Decoder {
 public:
  /// Bytes of an oversized PUBLISH's body handed out: enough for the longest topic name (2 +
  /// 65535) and a packet id.
  static constexpr std::size_t kOversizedHead = 2 + 0xFFFF + 2;

  /// `maxPacketSize` bounds the whole packet (fixed header included), like MQTT's Maximum Packet
  /// Size; the default admits the largest packet MQTT can express.
  explicit Decoder(std::size_t maxPacketSize = 268435455 + 5);

  /// The result of next().
  enum class Status { Ok, NeedMore, Oversized, Error };

  /// Appends received bytes (invalidates the views of earlier packets).
  void feed(const char* data, std::size_t n);
  /// Direct access for zero-copy reads: the caller appends to this string (e.g. recv into its
  /// tail), the decoder consumes from its front. Consumed bytes are discarded lazily (here and in
  /// feed(), when more than half of the buffer is consumed), so views from next() stay valid until
  /// the next feed()/buffer() call. Only append to it; never erase or modify existing bytes.
  std::string& buffer();
  /// The next packet.
  /// - Ok: a complete packet within maxPacketSize.
  /// - Oversized: a PUBLISH larger than maxPacketSize, reported as soon as its first
  ///   min(remaining length, kOversizedHead) body bytes are there (`body` = those, `size` = the
  ///   whole packet). The rest is discarded as it arrives, never buffered: memory stays bounded
  ///   by maxPacketSize plus what one read brings, whatever the peer announces.
  /// - Error: reserved packet type 0, malformed remaining length (more than 4 bytes), any other
  ///   packet type over maxPacketSize (detected as soon as the fixed header is complete, before
  ///   the body arrives); error() says which.
  Status next(Packet& out);
  /// Why the last next() returned Error (empty otherwise).
  const std::string& error() const;
  /// Unconsumed bytes (an oversized packet's discarded tail not counted).
  std::size_t buffered() const;
  /// Drops everything buffered and clears the error (for a new connection).
  void reset();
  std::size_t maxPacketSize() const noexcept { return maxPacketSize_; }
  void setMaxPacketSize(std::size_t n) noexcept { maxPacketSize_ = n; }

 private:
  void compact();
  /// Drops up to skip_ bytes of an oversized packet's tail from the front of the buffer.
  void discard();

  std::string buf_;
  std::size_t pos_ = 0;   ///< consumed bytes at the front of buf_
  std::size_t skip_ = 0;  ///< bytes of an oversized packet still to discard as they arrive
  std::size_t want_ = 0;  ///< size of the incomplete packet at the front (0: none known)
  std::size_t maxPacketSize_;
  std::string error_;
};

/// CONNACK. v3: exactly flags + return code, session present only with return code 0. v5: flags
/// + reason code (one of those CONNACK defines) + properties (those CONNACK may carry); a v5
/// CONNACK that ends after the reason code is accepted as having no properties, and with a
/// return code 1..5 as what a 3.1.1-only broker answers a v5 CONNECT with. Reserved flag bits,
/// RECEIVE_MAXIMUM 0, MAXIMUM_PACKET_SIZE 0, MAXIMUM_QOS or RETAIN_AVAILABLE (and the other
/// availability flags) above 1 are errors.
bool parseConnack(Version v, std::string_view body, Connack& out, std::string* error = nullptr);

/// The fixed part of a PUBLISH: everything but topic, payload and properties.
struct PublishHeader {
  std::uint16_t packetId = 0;  ///< 0 for QoS 0
  std::uint8_t qos = 0;
  bool dup = false;
  std::uint16_t topicAlias = 0;  ///< v5 TOPIC_ALIAS, 0 if absent
};

/// What parsePublish made of a PUBLISH.
enum class PublishStatus : std::uint8_t {
  Ok,
  /// The packet cannot be read: truncated, QoS 3, packet id 0 at QoS > 0, a property block that
  /// does not parse. The stream is not to be trusted: the connection must go.
  Malformed,
  /// Well-formed, packet id known, but the topic name is not one MQTT allows (validTopicName;
  /// empty is allowed only with a topic alias). `m` holds the raw topic and the payload.
  InvalidTopic,
  /// Well-formed, packet id known, but a property breaks the rules: a property PUBLISH may not
  /// carry, one given twice, a UTF-8 string property that is not valid MQTT UTF-8, a payload
  /// format above 1, topic alias 0, subscription identifier 0, or a payload that is not UTF-8
  /// while the payload format indicator says it is. `m` holds topic and payload.
  InvalidProperties,
};

/// PUBLISH (`flags` = Packet::flags). Fills m.topic, m.payload (one copy each), m.qos, m.retain
/// and m.props with the forwardable properties only (payload format, message expiry, content type,
/// response topic, correlation data, user properties in order). Subscription identifiers are
/// checked and skipped. Reuses the capacity of m's strings and user property vector (no
/// allocation when they are large enough).
PublishStatus parsePublish(Version v, std::uint8_t flags, std::string_view body, Message& m,
                           PublishHeader& header, std::string* error = nullptr);

/// The topic and packet id of a PUBLISH from the first bytes of its body (an oversized packet's
/// head, Decoder::kOversizedHead): false if even those do not parse.
bool parsePublishHead(std::uint8_t flags, std::string_view head, std::string& topic,
                      PublishHeader& header, std::string* error = nullptr);

/// PUBACK, PUBREC, PUBREL, PUBCOMP (`type`) and v3 UNSUBACK: the packet id (0 is an error) plus,
/// for v5, the reason code (0 when the short form omits it; it must be one `type` defines); v5
/// properties are checked and skipped.
bool parseAck(Version v, PacketType type, std::string_view body, std::uint16_t& packetId,
              std::uint8_t& reasonCode, std::string* error = nullptr);

/// SUBACK (v3, v5) and UNSUBACK (v5; `type`): the packet id and one reason/return code per filter
/// of the request, each one `type` defines; v5 properties are checked and skipped. An empty list
/// is an error (the caller compares the count with what it sent).
bool parseSuback(Version v, PacketType type, std::string_view body, std::uint16_t& packetId,
                 std::vector<std::uint8_t>& codes, std::string* error = nullptr);

/// DISCONNECT from the server. v5: reason code (0 for an empty body; one a server may send) and
/// REASON_STRING if present (cleared otherwise); a SESSION_EXPIRY_INTERVAL from the server is an
/// error [MQTT-3.14.2-2]. v3: the body must be empty (reason 0).
bool parseDisconnect(Version v, std::string_view body, std::uint8_t& reasonCode,
                     std::string& reasonString, std::string* error = nullptr);

/// AUTH (v5 only): reason code (0 for an empty body; 0x00, 0x18 or 0x19),
/// AUTHENTICATION_METHOD and AUTHENTICATION_DATA (each cleared when absent).
bool parseAuth(std::string_view body, std::uint8_t& reasonCode, std::string& method,
               std::string& data, std::string* error = nullptr);

/// snake_case name of an MQTT 5 reason code (section 2.4): 0x87 → "not_authorized", 0x86 →
/// "bad_user_name_or_password", 0x04 → "disconnect_with_will_message", 0x19 → "re_authenticate",
/// ...; 0 is "normal_disconnection" (the only packet whose code 0 gets named is a DISCONNECT).
/// Unknown codes → "reason_<n>". Stable: these are metric label values.
std::string reasonName(std::uint8_t code);

/// Name of a v3.1.1 CONNACK return code 1..5: unacceptable_protocol_version, identifier_rejected,
/// server_unavailable, bad_username_or_password, not_authorized; 0 → "accepted", others →
/// "return_code_<n>".
std::string v3ConnackName(std::uint8_t code);

}  // namespace mqb::mqtt::wire

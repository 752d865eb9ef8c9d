// Names of reason codes, for logs and bounded metric labels.

#include "mqtt/wire/codec.h"

namespace mqb::mqtt::wire {

namespace {

struct Reason {
  std::uint8_t code;
  const char* name;
};

/// Every MQTT 5 reason code (section 2.4), in code order.
constexpr Reason kReasons[] = {
    {0x00, "normal_disconnection"},
    {0x01, "granted_qos_1"},
    {0x02, "granted_qos_2"},
    {0x04, "disconnect_with_will_message"},
    {0x10, "no_matching_subscribers"},
    {0x11, "no_subscription_found"},
    {0x18, "continue_authentication"},
    {0x19, "re_authenticate"},
    {0x80, "unspecified_error"},
    {0x81, "malformed_packet"},
    {0x82, "protocol_error"},
    {0x83, "implementation_specific_error"},
    {0x84, "unsupported_protocol_version"},
    {0x85, "client_identifier_not_valid"},
    {0x86, "bad_user_name_or_password"},
    {0x87, "not_authorized"},
    {0x88, "server_unavailable"},
    {0x89, "server_busy"},
    {0x8A, "banned"},
    {0x8B, "server_shutting_down"},
    {0x8C, "bad_authentication_method"},
    {0x8D, "keep_alive_timeout"},
    {0x8E, "session_taken_over"},
    {0x8F, "topic_filter_invalid"},
    {0x90, "topic_name_invalid"},
    {0x91, "packet_identifier_in_use"},
    {0x92, "packet_identifier_not_found"},
    {0x93, "receive_maximum_exceeded"},
    {0x94, "topic_alias_invalid"},
    {0x95, "packet_too_large"},
    {0x96, "message_rate_too_high"},
    {0x97, "quota_exceeded"},
    {0x98, "administrative_action"},
    {0x99, "payload_format_invalid"},
    {0x9A, "retain_not_supported"},
    {0x9B, "qos_not_supported"},
    {0x9C, "use_another_server"},
    {0x9D, "server_moved"},
    {0x9E, "shared_subscriptions_not_supported"},
    {0x9F, "connection_rate_exceeded"},
    {0xA0, "maximum_connect_time"},
    {0xA1, "subscription_identifiers_not_supported"},
    {0xA2, "wildcard_subscriptions_not_supported"},
};

}  // namespace

std::string reasonName(std::uint8_t code) {
  for (const Reason& r : kReasons) {
    if (r.code == code) {
      return r.name;
    }
  }
  return "reason_" + std::to_string(code);
}

std::string v3ConnackName(std::uint8_t code) {
  switch (code) {
    case 0:
      return "accepted";
    case 1:
      return "unacceptable_protocol_version";
    case 2:
      return "identifier_rejected";
    case 3:
      return "server_unavailable";
    case 4:
      return "bad_username_or_password";
    case 5:
      return "not_authorized";
    default:
      return "return_code_" + std::to_string(code);
  }
}

}  // namespace mqb::mqtt::wire

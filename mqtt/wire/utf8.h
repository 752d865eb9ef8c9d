#pragma once
// Validation of MQTT UTF-8 Encoded Strings (section 1.5.4) and topic names (section 4.7).

#include <string_view>

namespace mqb::mqtt::wire {

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates U+D800..U+DFFF, nothing above
/// U+10FFFF); U+0000 only if `allowNul`.
bool validUtf8(std::string_view s, bool allowNul) noexcept;

/// Well-formed UTF-8 without U+0000, as MQTT requires of every UTF-8 string field
/// [MQTT-1.5.4-1..2].
inline bool validMqttUtf8(std::string_view s) noexcept { return validUtf8(s, false); }

/// A topic name a PUBLISH may carry: a valid MQTT UTF-8 string, 1..65535 bytes, without the
/// wildcard characters '+' and '#' [MQTT-3.3.2-1..2, MQTT-4.7.3-1].
bool validTopicName(std::string_view topic) noexcept;

}  // namespace mqb::mqtt::wire

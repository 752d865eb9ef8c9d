#pragma once
// MQTT topic filter matching (MQTT v5 section 4.7): `+` matches one level, `#` (last) matches the
// rest including the parent level; filters starting with a wildcard do not match topics that start
// with `$`. Logic-side helper (no YAML).

#include <string>
#include <string_view>

namespace mqb::stages::common {

/// Empty string if `filter` is a valid topic filter, else why not.
std::string topicFilterError(std::string_view filter);

/// True if `topic` matches the (valid) topic `filter`.
bool topicMatches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace mqb::stages::common

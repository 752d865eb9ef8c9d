#pragma once
// Text from peers, made safe to put in a log line or an error message.

#include <cstddef>
#include <string>
#include <string_view>

namespace mqb::common {

/// A printable, bounded copy of peer-controlled text: bytes outside printable ASCII become '?',
/// and "..." follows the first `max` bytes of a longer text.
std::string printable(std::string_view s, std::size_t max = 200);

}  // namespace mqb::common

#include "mqtt/wire/utf8.h"

#include <cstdint>
#include <cstring>

namespace mqb::mqtt::wire {

bool validUtf8(std::string_view s, bool allowNul) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII runs (the common case: topics, property names) eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      // Any byte with the top bit set, or any zero byte, ends the fast path.
      const std::uint64_t high = w & 0x8080808080808080ULL;
      const std::uint64_t zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
      if ((high | zero) != 0) {
        break;
      }
      i += 8;
    }
    if (i >= n) {
      break;
    }
    const unsigned char c = p[i];
    if (c == 0 && !allowNul) {
      return false;  // U+0000
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;  // a continuation byte without a lead, or 0xF8..0xFF
    }
    if (i + len > n) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char cc = p[i + k];
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;  // overlong, beyond Unicode, or a surrogate
    }
    i += len;
  }
  return true;
}

bool validTopicName(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > 0xFFFF) {
    return false;
  }
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return false;
  }
  return validMqttUtf8(topic);
}

}  // namespace mqb::mqtt::wire

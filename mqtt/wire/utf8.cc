#include "mqtt/wire/utf8.h"

#include <array>
#include <cstdint>

namespace mqb::mqtt::wire {
namespace {

/// What a byte is when it starts a character: 0 an ASCII character that is always fine, 1 U+0000,
/// 2 a wildcard ('+', '#'), 3 a byte that starts (or wrongly continues) a multi-byte sequence.
constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> c{};
  for (int b = 0x80; b < 256; ++b) {
    c[static_cast<std::size_t>(b)] = 3;
  }
  c[0] = 1;
  c['+'] = 2;
  c['#'] = 2;
  return c;
}();

/// The length of the well-formed multi-byte UTF-8 sequence at p[0..n) (RFC 3629: no overlong
/// form, no surrogate, nothing above U+10FFFF), or 0 if it is not one.
std::size_t sequence(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char c = p[0];
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
    return 0;  // a continuation byte without a lead, or 0xF8..0xFF
  }
  if (len > n) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

/// Bits of the single-byte classes a scan accepts.
constexpr unsigned kAscii = 1u << 0;
constexpr unsigned kNul = 1u << 1;
constexpr unsigned kWildcards = 1u << 2;

/// One pass over `s`: single bytes of an accepted class, and well-formed multi-byte sequences.
bool scan(std::string_view s, unsigned accepted) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  for (;;) {
    while (i < n && ((accepted >> kClass[p[i]]) & 1u) != 0) {
      ++i;
    }
    if (i == n) {
      return true;
    }
    if (kClass[p[i]] != 3) {
      return false;  // U+0000 or a wildcard where it is not accepted
    }
    const std::size_t len = sequence(p + i, n - i);
    if (len == 0) {
      return false;
    }
    i += len;
  }
}

}  // namespace

bool validUtf8(std::string_view s, bool allowNul) noexcept {
  return scan(s, kAscii | kWildcards | (allowNul ? kNul : 0u));
}

bool validTopicName(std::string_view topic) noexcept {
  return !topic.empty() && topic.size() <= 0xFFFF && scan(topic, kAscii);
}

}  // namespace mqb::mqtt::wire

#include "mqtt/wire/websocket.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "common/text.h"
#include "mqtt/wire/utf8.h"

namespace mqb::mqtt::wire {
namespace {

using common::printable;

/// Section 1.3.
constexpr const char* kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return asciiLower(x) == asciiLower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

/// True if the comma-separated header value `list` contains `token` (case-insensitive).
bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// dst[i] = src[i] ^ key[i % 4], 8 bytes at a time.
void maskCopy(char* dst, const char* src, std::size_t n, const unsigned char key[4]) noexcept {
  const unsigned char k8b[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t k8 = 0;
  std::memcpy(&k8, k8b, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, src + i, 8);
    v ^= k8;
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i) {
    dst[i] = static_cast<char>(static_cast<unsigned char>(src[i]) ^ key[i & 3]);
  }
}

/// May a close frame carry this status code (section 7.4)?
bool sendableCloseCode(unsigned code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace

std::string base64Encode(const unsigned char* data, std::size_t len) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            std::uint32_t{data[i + 2]};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (len - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (len - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::string websocketAccept(const std::string& key) {
  const std::string text = key + kWebSocketGuid;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  if (EVP_Digest(text.data(), text.size(), md, &mdLen, EVP_sha1(), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return base64Encode(md, mdLen);
}

std::string upgradeRequest(const std::string& host, std::uint16_t port, bool tls, bool hostIsIpv6,
                           const std::string& path, const std::string& key) {
  std::string p = path.empty() ? "/" : path;
  if (p.front() != '/') {
    p.insert(p.begin(), '/');
  }
  auto badText = [](const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) == 0x7f;
    });
  };
  if (badText(p) || badText(host)) {
    return {};
  }
  std::string r;
  r.append("GET ").append(p).append(" HTTP/1.1\r\nHost: ");
  if (hostIsIpv6) {
    r.append("[").append(host).append("]");
  } else {
    r.append(host);
  }
  if (port != (tls ? 443 : 80)) {
    r.append(":").append(std::to_string(port));
  }
  r.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ")
      .append(key)
      .append("\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
  return r;
}

bool checkUpgradeResponse(std::string_view head, const std::string& key, std::string& why) {
  const auto eol = head.find("\r\n");
  const std::string_view statusLine = head.substr(0, eol);
  const std::string status = statusLine.empty() ? "(no status line)" : printable(statusLine);
  auto failed = [&](const std::string& what) {
    why = what.empty() ? status : status + ": " + what;
    return false;
  };
  // "HTTP/1.1 101 Switching Protocols"
  const auto sp = statusLine.find(' ');
  if (statusLine.substr(0, 5) != "HTTP/" || sp == std::string_view::npos ||
      statusLine.substr(sp + 1, 3) != "101" ||
      (statusLine.size() > sp + 4 && statusLine[sp + 4] != ' ')) {
    return failed("");
  }
  bool upgradeOk = false;
  bool connectionOk = false;
  bool acceptOk = false;
  std::string protocol;
  bool extensions = false;
  const std::string expectAccept = websocketAccept(key);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    const auto e = rest.find("\r\n");
    const std::string_view line = rest.substr(0, e);
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) {
      upgradeOk = iequals(value, "websocket");
    } else if (iequals(name, "connection")) {
      connectionOk = hasToken(value, "upgrade");
    } else if (iequals(name, "sec-websocket-accept")) {
      acceptOk = value == expectAccept;
    } else if (iequals(name, "sec-websocket-protocol")) {
      protocol = std::string(value);
    } else if (iequals(name, "sec-websocket-extensions")) {
      extensions = !value.empty();
    }
  }
  if (!upgradeOk) {
    return failed("missing or wrong Upgrade header");
  }
  if (!connectionOk) {
    return failed("missing or wrong Connection header");
  }
  if (!acceptOk) {
    return failed("missing or wrong Sec-WebSocket-Accept");
  }
  if (!protocol.empty() && protocol != "mqtt") {
    return failed("unexpected subprotocol " + printable(protocol));
  }
  if (extensions) {
    return failed("unrequested WebSocket extension");
  }
  return true;
}

WebSocketFramer::WebSocketFramer() = default;

void WebSocketFramer::feed(const char* data, std::size_t n) {
  if (off_ == in_.size()) {
    in_.clear();
    off_ = 0;
  } else if (off_ > 0) {
    in_.erase(0, off_);  // a partial header or control frame: a few bytes
    off_ = 0;
  }
  in_.append(data, n);
}

std::uint64_t WebSocketFramer::directPayload() const noexcept {
  return (off_ == in_.size() && inDataFrame_) ? payloadLeft_ : 0;
}

void WebSocketFramer::tookDirect(std::size_t n) noexcept {
  payloadLeft_ -= std::min<std::uint64_t>(n, payloadLeft_);
  if (payloadLeft_ == 0) {
    inDataFrame_ = false;
  }
}

bool WebSocketFramer::takePong(std::string& payload) {
  if (!pongPending_) {
    return false;
  }
  pongPending_ = false;
  payload.swap(pong_);
  pong_.clear();
  return true;
}

WebSocketFramer::Status WebSocketFramer::fail(std::string why) {
  if (error_.empty()) {
    error_ = "websocket protocol error: " + why;
  }
  in_.clear();
  off_ = 0;
  return Status::Error;
}

WebSocketFramer::Status WebSocketFramer::onClose(const unsigned char* payload, std::size_t n) {
  if (n == 1) {
    return fail("close frame with a one-byte payload");
  }
  closeText_ = "websocket close received";
  if (n >= 2) {
    closeCode_ = (static_cast<unsigned>(payload[0]) << 8) | payload[1];
    if (!sendableCloseCode(closeCode_)) {
      return fail("close frame with status code " + std::to_string(closeCode_));
    }
    const std::string_view reason(reinterpret_cast<const char*>(payload) + 2, n - 2);
    if (!validUtf8(reason, true)) {
      return fail("close frame reason is not UTF-8");
    }
    closeText_ += " (code " + std::to_string(closeCode_);
    if (!reason.empty()) {
      closeText_ += ": " + printable(reason, 123);
    }
    closeText_ += ")";
  }
  return Status::Closed;
}

bool WebSocketFramer::takePayload(std::string& out, std::size_t& delivered) {
  const std::size_t avail = in_.size() - off_;
  if (payloadLeft_ > 0) {
    if (avail == 0) {
      return false;
    }
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(payloadLeft_, static_cast<std::uint64_t>(avail)));
    out.append(in_.data() + off_, n);
    off_ += n;
    payloadLeft_ -= n;
    delivered += n;
    if (payloadLeft_ > 0) {
      return false;
    }
  }
  inDataFrame_ = false;
  return true;
}

std::optional<WebSocketFramer::Status> WebSocketFramer::controlFrame(unsigned opcode,
                                                                     const unsigned char* payload,
                                                                     std::size_t n) {
  if (opcode == 0x8) {
    return onClose(payload, n);
  }
  if (opcode == 0x9) {
    pong_.assign(reinterpret_cast<const char*>(payload), n);  // only the latest is answered
    pongPending_ = true;
    return std::nullopt;
  }
  if (opcode == 0xA) {
    return std::nullopt;  // unsolicited or answered pong: ignored
  }
  return fail("unknown control opcode " + std::to_string(opcode));
}

std::optional<WebSocketFramer::Status> WebSocketFramer::dataFrame(unsigned opcode, bool fin) {
  if (opcode == 0x2) {
    if (fragmented_) {
      return fail("new binary message inside a fragmented one");
    }
  } else if (opcode == 0x0) {
    if (!fragmented_) {
      return fail("continuation frame without a message");
    }
  } else if (opcode == 0x1) {
    return fail("text frame (MQTT over WebSocket is binary)");
  } else {
    return fail("unknown data opcode " + std::to_string(opcode));
  }
  fragmented_ = !fin;
  return std::nullopt;
}

WebSocketFramer::Status WebSocketFramer::parse(std::string& out, std::size_t& delivered) {
  if (!error_.empty()) {
    return Status::Error;
  }
  for (;;) {
    if (inDataFrame_) {
      if (!takePayload(out, delivered)) {
        return Status::NeedMore;
      }
      continue;
    }
    const std::size_t avail = in_.size() - off_;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data()) + off_;
    if (avail < 2) {
      return Status::NeedMore;
    }
    const bool fin = (p[0] & 0x80) != 0;
    const unsigned opcode = p[0] & 0x0F;
    const bool masked = (p[1] & 0x80) != 0;
    const unsigned len7 = p[1] & 0x7F;
    const std::size_t lenBytes = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
    const std::size_t header = 2 + lenBytes + (masked ? 4 : 0);
    if ((p[0] & 0x70) != 0) {
      return fail("frame with RSV bits set (no extension was negotiated)");
    }
    if (masked) {
      return fail("masked frame from the server");
    }
    if (avail < header) {
      return Status::NeedMore;
    }
    std::uint64_t len = len7;
    if (lenBytes > 0) {
      len = 0;
      for (std::size_t i = 0; i < lenBytes; ++i) {
        len = (len << 8) | p[2 + i];
      }
      if ((len >> 63) != 0) {
        return fail("frame length with the top bit set");
      }
    }
    if (opcode >= 0x8) {  // control frame: handled whole
      if (!fin || len > 125) {
        return fail("fragmented or oversized control frame");
      }
      if (avail < header + len) {
        return Status::NeedMore;
      }
      off_ += header + static_cast<std::size_t>(len);
      if (auto st = controlFrame(opcode, p + header, static_cast<std::size_t>(len))) {
        return *st;
      }
      continue;
    }
    if (auto st = dataFrame(opcode, fin)) {
      return *st;
    }
    off_ += header;
    inDataFrame_ = true;
    payloadLeft_ = len;
  }
}

void WebSocketFramer::randomBytes(unsigned char* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (poolUsed_ == sizeof pool_) {
      if (RAND_bytes(pool_, sizeof pool_) != 1) {
        // No CSPRNG output: still vary the bytes (masking is not a confidentiality measure).
        ERR_clear_error();
        for (auto& b : pool_) {
          b = static_cast<unsigned char>(b * 131 + 7 + poolUsed_++);
        }
      }
      poolUsed_ = 0;
    }
    out[i] = pool_[poolUsed_++];
  }
}

void WebSocketFramer::frame(unsigned opcode, const char* payload, std::size_t n, std::string& out) {
  unsigned char h[14];
  std::size_t hl = 0;
  h[hl++] = static_cast<unsigned char>(0x80 | opcode);
  if (n < 126) {
    h[hl++] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    h[hl++] = 0x80 | 126;
    h[hl++] = static_cast<unsigned char>(n >> 8);
    h[hl++] = static_cast<unsigned char>(n);
  } else {
    h[hl++] = 0x80 | 127;
    const auto n64 = static_cast<std::uint64_t>(n);
    for (int shift = 56; shift >= 0; shift -= 8) {
      h[hl++] = static_cast<unsigned char>(n64 >> shift);
    }
  }
  unsigned char key[4];
  randomBytes(key, 4);
  std::memcpy(h + hl, key, 4);
  hl += 4;
  const std::size_t start = out.size();
  out.resize(start + hl + n);
  std::memcpy(out.data() + start, h, hl);
  maskCopy(out.data() + start + hl, payload, n, key);
}

}  // namespace mqb::mqtt::wire

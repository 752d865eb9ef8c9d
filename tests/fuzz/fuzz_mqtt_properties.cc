// libFuzzer target: MQTT 5 property handling of the packets a server sends (CONNACK, PUBLISH,
// acknowledgements, SUBACK, DISCONNECT, AUTH), structure-aware. The input chooses a packet type,
// a reason code and a list of properties (id, then a value shaped for that id's type from the
// next bytes, or raw bytes for an unknown id); they are framed well so that the per-property
// rules are reached rather than the framing checks. Whatever parses obeys the rules: no
// property given twice but User Property and Subscription Identifier, only ids the packet type
// may carry, every string valid MQTT UTF-8.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/wire/codec.h"
#include "mqtt/wire/property_ids.h"
#include "mqtt/wire/utf8.h"
#include "tests/fuzz/fuzz_check.h"

using mqb::fuzz::check;
using namespace mqb::mqtt::wire;

namespace {

struct In {
  std::string_view s;
  std::uint8_t byte() {
    if (s.empty()) {
      return 0;
    }
    const auto b = static_cast<std::uint8_t>(s[0]);
    s.remove_prefix(1);
    return b;
  }
  std::string_view take(std::size_t n) {
    n = std::min(n, s.size());
    const std::string_view r = s.substr(0, n);
    s.remove_prefix(n);
    return r;
  }
};

void putStr(std::string& out, std::string_view v) {
  out.push_back(static_cast<char>(v.size() >> 8));
  out.push_back(static_cast<char>(v.size() & 0xFF));
  out.append(v);
}

void putVarint(std::string& out, std::size_t v) {
  do {
    auto b = static_cast<std::uint8_t>(v & 0x7F);
    v >>= 7;
    if (v > 0) {
      b |= 0x80;
    }
    out.push_back(static_cast<char>(b));
  } while (v > 0);
}

/// A property block from the input; `ids` collects (id, string values) for the checks.
std::string properties(In& in,
                       std::vector<std::pair<std::uint8_t, std::vector<std::string>>>& ids) {
  std::string block;
  const int n = in.byte() % 8;
  for (int i = 0; i < n && !in.s.empty(); ++i) {
    const std::uint8_t id = in.byte() % 0x2C;
    block.push_back(static_cast<char>(id));
    std::vector<std::string> strings;
    switch (prop::propType(id)) {
      case prop::PType::Byte:
        block.push_back(static_cast<char>(in.byte() % 3));
        break;
      case prop::PType::U16:
        block.append(in.take(2));
        break;
      case prop::PType::U32:
        block.append(in.take(4));
        break;
      case prop::PType::Varint:
        putVarint(block, in.byte());
        break;
      case prop::PType::Str:
      case prop::PType::Bin: {
        const std::string v(in.take(in.byte() % 12));
        putStr(block, v);
        if (prop::propType(id) == prop::PType::Str) {
          strings.push_back(v);
        }
        break;
      }
      case prop::PType::Pair: {
        const std::string k(in.take(in.byte() % 8));
        const std::string v(in.take(in.byte() % 8));
        putStr(block, k);
        putStr(block, v);
        strings = {k, v};
        break;
      }
      case prop::PType::Unknown:
        block.append(in.take(in.byte() % 4));
        break;
    }
    ids.emplace_back(id, std::move(strings));
  }
  std::string out;
  putVarint(out, block.size());
  return out + block;
}

/// Every accepted packet's properties obey the generic rules.
void rules(const std::vector<std::pair<std::uint8_t, std::vector<std::string>>>& ids) {
  std::map<std::uint8_t, int> seen;
  for (const auto& [id, strings] : ids) {
    check(prop::propType(id) != prop::PType::Unknown);
    check(++seen[id] == 1 || id == prop::kUserProperty || id == prop::kSubscriptionId);
    for (const auto& s : strings) {
      check(validMqttUtf8(s));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  In in{std::string_view(reinterpret_cast<const char*>(data), size)};
  const std::uint8_t kind = in.byte() % 6;
  const std::uint8_t code = in.byte();
  std::vector<std::pair<std::uint8_t, std::vector<std::string>>> ids;
  const std::string props = properties(in, ids);
  const std::string_view rest = in.s;
  std::string body;
  std::string err;
  switch (kind) {
    case 0: {  // CONNACK
      body = std::string(1, static_cast<char>(code & 1)) + static_cast<char>(in.byte()) + props;
      Connack c;
      if (parseConnack(Version::V5, body, c, &err)) {
        rules(ids);
        check(c.receiveMaximum > 0 && c.maximumQos <= 2);
        check(validMqttUtf8(c.reasonString) && validMqttUtf8(c.assignedClientId));
      }
      break;
    }
    case 1: {  // PUBLISH
      std::string topic(in.take(in.byte() % 10));
      putStr(body, topic);
      if ((code & 6) != 0) {
        body += std::string("\x00\x07", 2);
      }
      body += props;
      body.append(rest);
      mqb::mqtt::Message m;
      PublishHeader h;
      const PublishStatus st = parsePublish(Version::V5, code & 0x0F, body, m, h, &err);
      if (st == PublishStatus::Ok) {
        rules(ids);
        check(m.topic.empty() ? h.topicAlias != 0 : validTopicName(m.topic));
      }
      if (st == PublishStatus::InvalidProperties || st == PublishStatus::InvalidTopic) {
        check(m.topic == topic);  // set aside with its content intact
      }
      break;
    }
    case 2: {  // PUBACK .. PUBCOMP
      body = std::string("\x00\x09", 2) + static_cast<char>(code) + props;
      std::uint16_t id = 0;
      std::uint8_t rc = 0;
      for (PacketType t :
           {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel, PacketType::Pubcomp}) {
        if (parseAck(Version::V5, t, body, id, rc, &err)) {
          rules(ids);
          check(id == 9 && rc == code);
        }
      }
      break;
    }
    case 3: {  // SUBACK / UNSUBACK
      body = std::string("\x00\x09", 2) + props + static_cast<char>(code);
      std::uint16_t id = 0;
      std::vector<std::uint8_t> codes;
      for (PacketType t : {PacketType::Suback, PacketType::Unsuback}) {
        if (parseSuback(Version::V5, t, body, id, codes, &err)) {
          rules(ids);
          check(codes.size() == 1 && codes[0] == code);
        }
      }
      break;
    }
    case 4: {  // DISCONNECT
      body = std::string(1, static_cast<char>(code)) + props;
      std::uint8_t rc = 0;
      std::string why;
      if (parseDisconnect(Version::V5, body, rc, why, &err)) {
        rules(ids);
        check(rc == code && validMqttUtf8(why));
        for (const auto& [id, s] : ids) {
          check(id != prop::kSessionExpiry);
        }
      }
      break;
    }
    default: {  // AUTH
      body = std::string(1, static_cast<char>(code)) + props;
      std::uint8_t rc = 0;
      std::string method, authData;
      if (parseAuth(body, rc, method, authData, &err)) {
        rules(ids);
        check(rc == 0 || rc == 0x18 || rc == 0x19);
        check(validMqttUtf8(method));
      }
      break;
    }
  }
  return 0;
}

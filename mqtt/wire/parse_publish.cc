// The PUBLISH parsers: the whole packet, and the head of one too large to keep (see codec.h).

#include "mqtt/wire/codec.h"
#include "mqtt/wire/reader.h"

namespace mqb::mqtt::wire {

using namespace detail;

namespace {

/// Which optional PUBLISH properties a packet carried.
struct PublishPresent {
  bool format = false, expiry = false, type = false, response = false, correlation = false;
  std::size_t users = 0;
};

/// QoS, DUP, topic and packet identifier: false (and `error`) if malformed.
bool publishHeader(std::uint8_t flags, Reader& r, std::string_view& topic, PublishHeader& header,
                   std::string* error) {
  header = PublishHeader{};
  header.qos = static_cast<std::uint8_t>((flags >> 1) & 0x03);
  header.dup = (flags & 0x08) != 0;
  if (header.qos == 3) {
    return fail(error, "publish qos 3");
  }
  if (header.qos == 0 && header.dup) {
    return fail(error, "dup flag on a qos 0 publish");  // [MQTT-3.3.1-2]
  }
  if (!r.str(topic)) {
    return fail(error, "truncated publish topic");
  }
  if (header.qos > 0) {
    if (!r.u16(header.packetId)) {
      return fail(error, "truncated publish packet id");
    }
    if (header.packetId == 0) {
      return fail(error, "publish packet id 0");
    }
  }
  return true;
}

/// Reads one PUBLISH property into `props`; the reason it is invalid, or null.
const char* publishProperty(std::uint8_t id, const PropValue& pv, Properties& props,
                            PublishHeader& header, PublishPresent& present) {
  switch (id) {
    case kPayloadFormat:
      if (pv.num > 1) {
        return "payload format above 1";
      }
      props.payloadFormat = static_cast<std::uint8_t>(pv.num);
      present.format = true;
      break;
    case kMessageExpiry:
      props.messageExpirySeconds = pv.num;
      present.expiry = true;
      break;
    case kContentType:
      assignOpt(props.contentType, pv.a);
      present.type = true;
      break;
    case kResponseTopic:
      if (!validTopicName(pv.a)) {
        return "response topic is not a valid topic name";
      }
      assignOpt(props.responseTopic, pv.a);
      present.response = true;
      break;
    case kCorrelationData:
      assignOpt(props.correlationData, pv.a);
      present.correlation = true;
      break;
    case kTopicAlias:
      if (pv.num == 0) {
        return "topic alias 0";
      }
      header.topicAlias = static_cast<std::uint16_t>(pv.num);
      break;
    case kSubscriptionId:
      if (pv.num == 0) {
        return "subscription identifier 0";
      }
      break;
    case kUserProperty:
      // Reuses the strings of a recycled Message's user properties.
      if (present.users < props.user.size()) {
        props.user[present.users].key.assign(pv.a.data(), pv.a.size());
        props.user[present.users].value.assign(pv.b.data(), pv.b.size());
      } else {
        props.user.push_back({std::string(pv.a), std::string(pv.b)});
      }
      ++present.users;
      break;
    default:
      break;
  }
  return nullptr;
}

/// Resets the optional properties the packet did not carry. Done after reading, not before, so
/// that a recycled Message keeps the strings it can reuse.
void resetAbsent(const PublishPresent& present, Properties& props) {
  props.user.resize(present.users);
  if (!present.format) {
    props.payloadFormat.reset();
  }
  if (!present.expiry) {
    props.messageExpirySeconds.reset();
  }
  if (!present.type) {
    props.contentType.reset();
  }
  if (!present.response) {
    props.responseTopic.reset();
  }
  if (!present.correlation) {
    props.correlationData.reset();
  }
}

}  // namespace

PublishStatus parsePublish(Version v, std::uint8_t flags, std::string_view body, Message& m,
                           PublishHeader& header, std::string* error) {
  Reader r(body);
  std::string_view topic;
  if (!publishHeader(flags, r, topic, header, error)) {
    return PublishStatus::Malformed;
  }
  Properties& props = m.props;
  PublishPresent present;
  Props propStatus = Props::Ok;
  if (v == Version::V5) {
    propStatus = readProperties(r, Kind::Publish, error, [&](std::uint8_t id, const PropValue& pv) {
      return publishProperty(id, pv, props, header, present);
    });
    if (propStatus == Props::Malformed) {
      return PublishStatus::Malformed;
    }
  }
  resetAbsent(present, props);
  const std::string_view payload = r.rest();
  m.topic.assign(topic.data(), topic.size());
  m.payload.assign(payload.data(), payload.size());
  m.qos = header.qos;
  m.retain = (flags & 0x01) != 0;
  if (propStatus == Props::Invalid) {
    return PublishStatus::InvalidProperties;
  }
  if (present.format && *props.payloadFormat == 1 && !validUtf8(payload, /*allowNul=*/true)) {
    fail(error, "payload is not UTF-8 as its payload format indicator says");
    return PublishStatus::InvalidProperties;
  }
  const bool topicOk = topic.empty() ? header.topicAlias != 0 : validTopicName(topic);
  if (!topicOk) {
    fail(error, topic.empty() ? "empty topic without topic alias" : "invalid topic name");
    return PublishStatus::InvalidTopic;
  }
  return PublishStatus::Ok;
}

bool parsePublishHead(std::uint8_t flags, std::string_view head, std::string& topic,
                      PublishHeader& header, std::string* error) {
  Reader r(head);
  std::string_view t;
  if (!publishHeader(flags, r, t, header, error)) {
    return false;
  }
  topic.assign(t.data(), t.size());
  return true;
}

}  // namespace mqb::mqtt::wire

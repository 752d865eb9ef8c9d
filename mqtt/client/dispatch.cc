// One packet from the broker, checked against what the protocol allows at this point of the
// session: the fixed header's flags, acknowledgements of the packet type they acknowledge,
// inbound QoS 2 state, our Receive Maximum, topic aliases we never allowed, AUTH we never asked
// for. A packet that breaks a rule ends the connection with the rule named; a well-formed
// PUBLISH whose content is invalid is acknowledged and handed to the listener as refused, so that
// it cannot come back on every reconnect and stop the route.

#include "common/log.h"
#include "common/text.h"
#include "mqtt/client.h"
#include "mqtt/client/internal.h"

namespace mqb::mqtt {
namespace {

using T = wire::PacketType;

/// Most PUBLISHes handed to the listener at once.
constexpr std::size_t kMaxBatch = 512;

/// The fixed-header flags a server's packet of this type must carry (MQTT section 2.1.3).
std::uint8_t requiredFlags(T t) { return t == T::Pubrel ? 0x2 : 0x0; }

/// The v5 reason code that refuses an incoming PUBLISH for `why` (PUBACK/PUBREC).
std::uint8_t refusalCode(Refusal why) {
  switch (why) {
    case Refusal::InvalidTopic:
      return 0x90;  // topic name invalid
    case Refusal::InvalidProperties:
      return 0x80;  // unspecified error: PUBACK has no "malformed"
    case Refusal::TooLarge:
      return 0x83;  // implementation specific error: valid, but not accepted
  }
  return 0x80;
}

}  // namespace

void Client::dispatch(const wire::Packet& p) {
  if (p.type != T::Publish && p.flags != requiredFlags(p.type)) {
    fail(Cause::MalformedPacket, "reserved fixed header flags set on packet type " +
                                     std::to_string(static_cast<int>(p.type)));
    return;
  }
  if (p.type != T::Publish && p.type != T::Puback && p.type != T::Pubcomp && p.type != T::Pubrec) {
    deliverBatch();  // keep the order of everything the broker sent
    deliverAcked();
  }
  switch (p.type) {
    case T::Publish:
      onPublish(p);
      return;
    case T::Puback:
    case T::Pubrec:
    case T::Pubcomp:
      onPublisherAck(p);
      return;
    case T::Pubrel:
      onPubrel(p);
      return;
    case T::Suback:
    case T::Unsuback:
      onSubscribeAck(p);
      return;
    case T::Pingresp:
      if (!p.body.empty()) {
        fail(Cause::MalformedPacket, "PINGRESP with a body");
      }
      return;  // any packet already counted as proof of life; an unsolicited one is harmless
    case T::Disconnect: {
      if (version_ != Version::V5) {
        fail(Cause::ProtocolError, "DISCONNECT from an MQTT 3.1.1 server");
        return;
      }
      std::uint8_t rc = 0;
      std::string text;
      std::string err;
      if (!wire::parseDisconnect(version_, p.body, rc, text, &err)) {
        fail(Cause::MalformedPacket, "DISCONNECT: " + err);
        return;
      }
      if (reauthPending_) {
        reauthRefused(rc, "DISCONNECT");
        return;
      }
      failure_ = Failure{Cause::ServerDisconnect, rc, true, common::printable(text)};
      return;
    }
    case T::Connack:
      if (!reauthPending_) {
        fail(Cause::ProtocolError, "CONNACK on an established connection");
        return;
      }
      // mosquitto answers a refused re-authentication with a CONNACK "not authorized".
      reauthRefused(p.body.size() >= 2 ? static_cast<std::uint8_t>(p.body[1]) : 0x80, "CONNACK");
      return;
    case T::Auth:
      if (version_ != Version::V5) {
        fail(Cause::MalformedPacket, "reserved packet type 15");
        return;
      }
      if (reauthPending_) {
        onReauthAnswer(p);
        return;
      }
      // Only the client starts a re-authentication (MQTT 4.12.1).
      fail(Cause::ProtocolError, "AUTH without an authentication exchange in progress");
      return;
    default:
      fail(Cause::ProtocolError,
           "packet type " + std::to_string(static_cast<int>(p.type)) + " from a server");
      return;
  }
}

void Client::onPublish(const wire::Packet& p) {
  Message m;
  wire::PublishHeader h;
  std::string err;
  const auto st = wire::parsePublish(version_, p.flags, p.body, m, h, &err);
  if (st == wire::PublishStatus::Malformed) {
    fail(Cause::MalformedPacket, "PUBLISH: " + err);
    return;
  }
  if (h.topicAlias != 0) {
    fail(Cause::ProtocolError, "PUBLISH with a topic alias the client never allowed");
    return;
  }
  if (h.qos > 0) {
    const std::size_t allowed = options_.receiveMaximum > 0 ? options_.receiveMaximum : 65535;
    if (++unackedIn_ > allowed) {
      fail(Cause::ProtocolError, "more unacknowledged QoS>0 PUBLISHes than our Receive Maximum (" +
                                     std::to_string(allowed) + ")");
      return;
    }
  }
  if (h.qos == 2 && qos2In_.count(h.packetId) != 0) {
    // A re-send of one delivered already (PUBREL not seen yet): answer again, deliver nothing.
    --unackedIn_;
    wire::encodeAck(version_, T::Pubrec, h.packetId, 0, acks_);
    return;
  }
  if (st != wire::PublishStatus::Ok) {
    refuse(std::move(m), h,
           st == wire::PublishStatus::InvalidTopic ? Refusal::InvalidTopic
                                                   : Refusal::InvalidProperties,
           err);
    return;
  }
  if (h.qos == 2) {
    qos2In_.insert(h.packetId);  // a re-send in this very read is recognised too
  }
  batchAcks_.emplace_back(h.packetId, h.qos);
  batch_.push_back(std::move(m));
  if (batch_.size() >= kMaxBatch) {
    deliverBatch();
  }
}

void Client::onOversized(const wire::Packet& p) {
  Message m;
  wire::PublishHeader h;
  std::string err;
  if (!wire::parsePublishHead(p.flags, p.body, m.topic, h, &err)) {
    fail(Cause::MalformedPacket, "oversized PUBLISH: " + err);
    return;
  }
  m.qos = h.qos;
  m.retain = (p.flags & 0x01) != 0;
  if (h.qos == 2 && qos2In_.count(h.packetId) != 0) {
    wire::encodeAck(version_, T::Pubrec, h.packetId, 0, acks_);
    return;
  }
  refuse(std::move(m), h, Refusal::TooLarge,
         "PUBLISH of " + std::to_string(p.size) + " bytes over our maximum packet size of " +
             std::to_string(options_.maximumPacketSize));
}

void Client::refuse(Message&& m, const wire::PublishHeader& h, Refusal why,
                    const std::string& detail) {
  deliverBatch();  // in order with the messages before it
  if (listener_ != nullptr) {
    listener_->onRefused(std::move(m), why, detail);
  }
  // A failure reason ends the exchange for QoS 1 and 2 alike: the broker does not send it again.
  const std::uint8_t rc = version_ == Version::V5 ? refusalCode(why) : 0;
  if (h.qos == 1) {
    wire::encodeAck(version_, T::Puback, h.packetId, rc, acks_);
  } else if (h.qos == 2) {
    wire::encodeAck(version_, T::Pubrec, h.packetId, rc, acks_);
    if (rc < 0x80) {
      qos2In_.insert(h.packetId);  // v3: a PUBREL follows
    }
  }
}

void Client::onPubrel(const wire::Packet& p) {
  std::uint16_t id = 0;
  std::uint8_t rc = 0;
  std::string err;
  if (!wire::parseAck(version_, T::Pubrel, p.body, id, rc, &err)) {
    fail(Cause::MalformedPacket, "PUBREL: " + err);
    return;
  }
  const bool known = qos2In_.erase(id) != 0;
  // An unknown id: answered with "packet identifier not found" (v5), plainly (v3).
  wire::encodeAck(version_, T::Pubcomp, id, known ? 0 : 0x92, acks_);
}

void Client::onPublisherAck(const wire::Packet& p) {
  std::uint16_t id = 0;
  std::uint8_t rc = 0;
  std::string err;
  if (!wire::parseAck(version_, p.type, p.body, id, rc, &err)) {
    fail(Cause::MalformedPacket, "acknowledgement: " + err);
    return;
  }
  ++acksReceived_;
  bool release = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto it = inflight_.find(id);
    if (it == inflight_.end()) {
      return;  // nothing of ours (a late duplicate): harmless, and nothing to settle
    }
    const Inflight& e = it->second;
    const char* wrong = nullptr;
    if (e.kind != Request::Publish) {
      wrong = "acknowledges a SUBSCRIBE or UNSUBSCRIBE";
    } else if (p.type == T::Puback && e.qos != 1) {
      wrong = "PUBACK for a QoS 2 PUBLISH";
    } else if (p.type == T::Pubrec && (e.qos != 2 || e.released)) {
      wrong = "PUBREC for a QoS 1 PUBLISH or one released already";
    } else if (p.type == T::Pubcomp && (e.qos != 2 || !e.released)) {
      wrong = "PUBCOMP before PUBREC";
    }
    if (wrong != nullptr) {
      fail(Cause::ProtocolError, std::string("packet id ") + std::to_string(id) + ": " + wrong);
      return;
    }
    if (p.type == T::Pubrec && rc < 0x80) {
      it->second.released = true;
      release = true;
    }
  }
  if (release) {
    wire::encodeAck(version_, T::Pubrel, id, 0, acks_);  // the PUBCOMP settles it
    return;
  }
  acked_.emplace_back(id, rc);  // answered in one batch with the others of this read
}

void Client::onSubscribeAck(const wire::Packet& p) {
  std::uint16_t id = 0;
  std::vector<std::uint8_t> codes;
  std::string err;
  bool ok = false;
  if (p.type == T::Unsuback && version_ == Version::V311) {
    std::uint8_t rc = 0;
    ok = wire::parseAck(version_, T::Unsuback, p.body, id, rc, &err);
    codes.push_back(0);
  } else {
    ok = wire::parseSuback(version_, p.type, p.body, id, codes, &err);
  }
  if (!ok) {
    fail(Cause::MalformedPacket, (p.type == T::Suback ? "SUBACK: " : "UNSUBACK: ") + err);
    return;
  }
  Done done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto it = inflight_.find(id);
    if (it == inflight_.end()) {
      return;  // a late duplicate: harmless
    }
    const Request want = p.type == T::Suback ? Request::Subscribe : Request::Unsubscribe;
    if (it->second.kind != want) {
      fail(Cause::ProtocolError, "packet id " + std::to_string(id) + ": " +
                                     (p.type == T::Suback ? "SUBACK" : "UNSUBACK") +
                                     " for another kind of request");
      return;
    }
    if (codes.size() != 1) {
      fail(Cause::ProtocolError,
           std::to_string(codes.size()) + " reason codes for a request of one topic filter");
      return;
    }
    done = std::move(it->second.done);
    inflight_.erase(it);
  }
  if (done) {
    done(codes.front() < 0x80, codes.front());
  }
}

void Client::deliverAcked() {
  if (acked_.empty()) {
    return;
  }
  published_.clear();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [id, rc] : acked_) {
      auto it = inflight_.find(id);
      if (it == inflight_.end()) {
        continue;
      }
      published_.emplace_back(it->second.cookie, rc);
      inflight_.erase(it);
    }
  }
  acked_.clear();
  if (listener_ != nullptr && !published_.empty()) {
    listener_->onPublishedBatch(published_);
  }
}

void Client::deliverBatch() {
  if (batch_.empty()) {
    return;
  }
  if (listener_ != nullptr) {
    listener_->onMessages(batch_);
  }
  batch_.clear();
  for (const auto& [id, qos] : batchAcks_) {
    if (qos == 1) {
      wire::encodeAck(version_, T::Puback, id, 0, acks_);
    } else if (qos == 2) {
      wire::encodeAck(version_, T::Pubrec, id, 0, acks_);
    }
  }
  batchAcks_.clear();
}

}  // namespace mqb::mqtt

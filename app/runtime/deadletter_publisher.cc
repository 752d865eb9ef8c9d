#include "app/runtime/deadletter_publisher.h"

#include "app/runtime/client_options.h"
#include "common/text.h"

namespace mqb::app {

std::string deadLetterClientId(const config::ConnectorSpec& c, int instance) {
  return c.clientIdPrefix + "deadletter-" + std::to_string(instance);
}

DeadLetterPublisher::DeadLetterPublisher(const config::ConnectorSpec& c, int instance)
    : topic_(c.deadLetterTopic),
      // The connector's own routes must not forward these (v5; v3 carries no properties).
      marker_{c.hopMarker, c.protocol == config::MqttVersion::V5 ? c.name : ""},
      client_(
          [&] {
            mqtt::ClientOptions o = clientOptions(c, c.local, deadLetterClientId(c, instance),
                                                  c.name + "/deadletter/local");
            o.persistentSession = false;
            return o;
          }(),
          this) {
  client_.start();
}

DeadLetterPublisher::~DeadLetterPublisher() { client_.stop(std::chrono::milliseconds(2000)); }

void DeadLetterPublisher::publish(const deadletter::Record& r) noexcept {
  const std::string topic = topic_ + "/" + r.route;
  mqtt::Properties props = r.message.props;
  props.user.push_back({"mqbridge-deadletter-reason", r.reason});
  props.user.push_back({"mqbridge-deadletter-detail", common::printable(r.detail, 1000)});
  props.user.push_back({"mqbridge-deadletter-id", r.id});
  props.user.push_back({"mqbridge-deadletter-direction", r.direction});
  props.user.push_back({"mqbridge-original-topic", common::printable(r.message.topic, 65535)});
  mqtt::Client::Publish p;
  p.topic = topic;
  p.payload = r.message.payload;
  p.qos = 1;
  p.props = &props;
  p.marker = marker_.value.empty() ? nullptr : &marker_;
  client_.publish(p, 0);  // the store holds it; the answer is not needed
}

}  // namespace mqb::app

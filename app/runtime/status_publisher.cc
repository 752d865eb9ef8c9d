#include "app/runtime/status_publisher.h"

#include "app/runtime/client_options.h"
#include "app/runtime/endpoint_board.h"
#include "config/plan.h"

namespace mqb::app {

std::string statusTopicFor(const config::ConnectorSpec& c, int instance) {
  return c.bridgeInstances > 1 ? c.statusTopic + "/" + std::to_string(instance) : c.statusTopic;
}

StatusPublisher::StatusPublisher(const config::ConnectorSpec& c, int instance)
    : topic_(statusTopicFor(c, instance)),
      client_(
          [&] {
            mqtt::ClientOptions o = clientOptions(c, c.local, config::statusClientId(c, instance),
                                                  c.name + "/status/local");
            o.persistentSession = false;
            o.will.topic = topic_;
            o.will.payload = "offline";
            o.will.retain = true;
            o.will.qos = 1;
            return o;
          }(),
          this) {
  endpointTopic_ = topic_ + "/remote-endpoint";
  EndpointBoard::install();
  boardSub_ = EndpointBoard::instance().subscribe(
      c.name,
      [this](std::size_t index, const std::string& endpoint) { onEndpoint(index, endpoint); });
}

void StatusPublisher::onConnected(const mqtt::ConnectInfo&) noexcept {
  publish("online");
  publishEndpoint();
}

void StatusPublisher::onEndpoint(std::size_t index, const std::string& endpoint) noexcept {
  try {
    std::string payload = R"({"endpoint":")";
    payload.append(endpoint).append(R"(","index":)").append(std::to_string(index)).append("}");
    {
      std::lock_guard<std::mutex> lk(endpointMu_);
      endpointPayload_ = std::move(payload);
    }
    publishEndpoint();
  } catch (...) {  // out of memory: the next change or reconnect publishes it
  }
}

void StatusPublisher::publishEndpoint() noexcept {
  std::lock_guard<std::mutex> lk(endpointMu_);
  if (endpointPayload_.empty()) {
    return;
  }
  mqtt::Client::Publish p;
  p.topic = endpointTopic_;
  p.payload = endpointPayload_;
  p.qos = 1;
  p.retain = true;
  client_.publish(p, 0);
}

void StatusPublisher::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  EndpointBoard::instance().unsubscribe(boardSub_);
  if (client_.connected()) {
    publish("offline");
  }
  client_.stop(std::chrono::milliseconds(2000));
}

void StatusPublisher::publish(std::string_view payload) noexcept {
  mqtt::Client::Publish p;
  p.topic = topic_;
  p.payload = payload;
  p.qos = 1;
  p.retain = true;
  client_.publish(p, 0);  // the answer is not needed: a lost "online" is sent on reconnect
}

void StatusPublishers::apply(const config::BridgeConfig& cfg, int instance) {
  std::map<std::string, std::unique_ptr<StatusPublisher>> next;
  for (const auto& c : cfg.connectors) {
    if (c.statusTopic.empty() || instance >= c.bridgeInstances) {
      continue;
    }
    auto it = byConnector_.find(c.name);
    if (it != byConnector_.end() && it->second->topic() == statusTopicFor(c, instance)) {
      next.emplace(c.name, std::move(it->second));
      byConnector_.erase(it);
      continue;
    }
    auto sp = std::make_unique<StatusPublisher>(c, instance);
    sp->start();
    next.emplace(c.name, std::move(sp));
  }
  byConnector_ = std::move(next);  // those left behind were removed: their destructors stop them
}

}  // namespace mqb::app

#include "sources/mqtt/mqtt_source.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <cstring>

namespace mqb::sources {

pipeline::Properties fromPaho(const MQTTProperties& props) {
  pipeline::Properties out;
  for (int i = 0; i < props.count; ++i) {
    const MQTTProperty& p = props.array[i];
    auto str = [](const MQTTLenString& s) { return std::string(s.data, s.len > 0 ? s.len : 0); };
    switch (p.identifier) {
      case MQTTPROPERTY_CODE_USER_PROPERTY:
        out.user.push_back({str(p.value.data), str(p.value.value)});
        break;
      case MQTTPROPERTY_CODE_CONTENT_TYPE:
        out.contentType = str(p.value.data);
        break;
      case MQTTPROPERTY_CODE_PAYLOAD_FORMAT_INDICATOR:
        out.payloadFormat = p.value.byte;
        break;
      case MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL:
        out.messageExpirySeconds = p.value.integer4;
        break;
      case MQTTPROPERTY_CODE_RESPONSE_TOPIC:
        out.responseTopic = str(p.value.data);
        break;
      case MQTTPROPERTY_CODE_CORRELATION_DATA:
        out.correlationData = str(p.value.data);
        break;
      default:  // subscription identifier, topic alias: per hop, never forwarded
        break;
    }
  }
  return out;
}

MqttSource::MqttSource(ClientOptions client, SourceOptions options, pipeline::Ingress& ingress,
                       metrics::RouteMetrics* routeMetrics, metrics::ClientMetrics* clientMetrics,
                       pipeline::DeliveryTracker* tracker, Timer* timer)
    : options_(std::move(options)),
      ingress_(ingress),
      routeMetrics_(routeMetrics),
      clientMetrics_(clientMetrics),
      tracker_(tracker),
      timer_(timer ? timer : &Timer::shared()),
      subscription_(options_.shareGroup.empty()
                        ? options_.filter
                        : "$share/" + options_.shareGroup + "/" + options_.filter),
      client_(std::move(client), this, clientMetrics, timer_) {}

MqttSource::~MqttSource() { stop(); }

bool MqttSource::start() { return client_.start(); }

bool MqttSource::ready() const noexcept {
  return client_.connected() && subscribed_.load(std::memory_order_acquire);
}

std::size_t MqttSource::overflowSizeForTest() const {
  std::lock_guard<std::mutex> lk(mu_);
  return overflow_.size();
}

void MqttSource::stop() {
  auto cancelTimers = [this] {
    Timer::Id a, b;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      a = std::exchange(retryTimer_, 0);
      b = std::exchange(subscribeTimer_, 0);
    }
    timer_->cancel(a);
    timer_->cancel(b);
  };
  cancelTimers();
  client_.stop();
  cancelTimers();  // a callback may have scheduled one while the client was closing
  setSubscribed(false);
  std::deque<pipeline::Message> left;
  {
    std::lock_guard<std::mutex> lk(mu_);
    left.swap(overflow_);
  }
  if (!left.empty()) {
    if (routeMetrics_) {
      routeMetrics_->drop(metrics::DropReason::Shutdown, static_cast<double>(left.size()));
    }
    log::warn("mqtt_source_overflow_dropped_at_stop",
              {{"client", client_.options().clientId}, {"count", left.size()}});
    for (auto& m : left) {
      m.completion.settle(pipeline::Outcome::Dropped);
    }
  }
}

void MqttSource::setSubscribed(bool on) noexcept {
  subscribed_.store(on, std::memory_order_release);
  if (clientMetrics_ && clientMetrics_->subscribed) {
    clientMetrics_->subscribed->Set(on ? 1 : 0);
  }
}

void MqttSource::onConnected(const ConnectInfo& /*info*/) noexcept {
  setSubscribed(false);
  subscribe();  // always: a lost session (or cleanstart) has no subscription any more
}

void MqttSource::onConnectionLost() noexcept { setSubscribed(false); }

void MqttSource::subscribe() {
  MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
  r.context = this;
  if (client_.v5()) {
    r.onSuccess5 = &MqttSource::onSubscribed5;
    r.onFailure5 = &MqttSource::onSubscribeFailed5;
    r.subscribeOptions.retainAsPublished = 1;  // keep the retain flag of live messages
    r.subscribeOptions.retainHandling = 1;     // retained messages only for a new subscription
  } else {
    r.onSuccess = &MqttSource::onSubscribed3;
    r.onFailure = &MqttSource::onSubscribeFailed3;
  }
  const int rc = MQTTAsync_subscribe(client_.handle(), subscription_.c_str(), options_.qos, &r);
  if (rc == MQTTASYNC_DISCONNECTED) {
    return;  // onConnected subscribes again
  }
  if (rc != MQTTASYNC_SUCCESS) {
    subscribeFailed(MQTTAsync_strerror(rc));
  }
}

void MqttSource::onSubscribed5(void* ctx, MQTTAsync_successData5* r) {
  auto* self = static_cast<MqttSource*>(ctx);
  if (r != nullptr && r->reasonCode >= 0x80) {
    self->subscribeFailed(reasonName(r->reasonCode));
    return;
  }
  self->setSubscribed(true);
  log::info("mqtt_subscribed", {{"client", self->client_.options().clientId},
                                {"filter", self->subscription_},
                                {"qos", self->options_.qos}});
}

void MqttSource::onSubscribeFailed5(void* ctx, MQTTAsync_failureData5* r) {
  auto* self = static_cast<MqttSource*>(ctx);
  self->subscribeFailed(r != nullptr && r->reasonCode != 0 ? reasonName(r->reasonCode)
                                                           : "subscribe_failed");
}

void MqttSource::onSubscribed3(void* ctx, MQTTAsync_successData* r) {
  auto* self = static_cast<MqttSource*>(ctx);
  if (r != nullptr && r->alt.qos == 0x80) {
    self->subscribeFailed("subscription_refused");
    return;
  }
  self->setSubscribed(true);
  log::info("mqtt_subscribed", {{"client", self->client_.options().clientId},
                                {"filter", self->subscription_},
                                {"qos", self->options_.qos}});
}

void MqttSource::onSubscribeFailed3(void* ctx, MQTTAsync_failureData* /*r*/) {
  static_cast<MqttSource*>(ctx)->subscribeFailed("subscribe_failed");
}

void MqttSource::subscribeFailed(const std::string& reason) {
  if (clientMetrics_) {
    clientMetrics_->failure(metrics::ConnectFailure::Subscribe);
  }
  static log::Every every(std::chrono::seconds(10));  // retried every second while refused
  log::warnEvery(
      every, "mqtt_subscribe_failed",
      {{"client", client_.options().clientId}, {"filter", subscription_}, {"reason", reason}});
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_ || subscribeTimer_ != 0) {
    return;
  }
  subscribeTimer_ = timer_->after(std::chrono::seconds(1), [this] {
    {
      std::lock_guard<std::mutex> l(mu_);
      subscribeTimer_ = 0;
      if (stopping_) {
        return;
      }
    }
    if (client_.connected()) {
      subscribe();
    }
  });
}

void MqttSource::onMessage(char* topic, int topicLen, MQTTAsync_message* m) noexcept {
  receivedCount_.fetch_add(1, std::memory_order_relaxed);
  pipeline::Message msg;
  msg.received = std::chrono::steady_clock::now();
  msg.topic.assign(topic, topicLen > 0 ? static_cast<std::size_t>(topicLen) : std::strlen(topic));
  if (m->payloadlen > 0) {
    msg.payload.assign(static_cast<const char*>(m->payload),
                       static_cast<std::size_t>(m->payloadlen));
  }
  msg.qos = static_cast<std::uint8_t>(m->qos);
  msg.retain = m->retained != 0;
  if (client_.v5()) {
    msg.props = fromPaho(m->properties);
  }
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  if (tracker_ != nullptr) {
    msg.completion = pipeline::Completion(tracker_, nextToken_.fetch_add(1));
  }
  if (routeMetrics_) {
    if (routeMetrics_->received) {
      routeMetrics_->received->Increment();
    }
    if (routeMetrics_->receivedBytes) {
      routeMetrics_->receivedBytes->Increment(static_cast<double>(msg.payload.size()));
    }
  }
  if (!options_.hopMarkerValue.empty()) {
    for (const auto& up : msg.props.user) {
      if (up.key == options_.hopMarkerKey && up.value == options_.hopMarkerValue) {
        if (routeMetrics_) {
          routeMetrics_->drop(metrics::DropReason::Loop);
        }
        if (log::enabled(log::Level::Debug)) {  // the fields copy strings: build them only then
          log::debug("mqtt_loop_dropped",
                     {{"client", client_.options().clientId}, {"topic", msg.topic}});
        }
        msg.completion.settle(pipeline::Outcome::Filtered);
        return;
      }
    }
  }
  if (log::enabled(log::Level::Debug)) {
    log::debug("mqtt_received", {{"client", client_.options().clientId},
                                 {"topic", msg.topic},
                                 {"qos", static_cast<int>(msg.qos)},
                                 {"retain", msg.retain ? "true" : "false"},
                                 {"bytes", msg.payload.size()}});
  }
  // Never hold mu_ while pushing: the push may reach a sink that calls into Paho, whose callbacks
  // (this one) take mu_. `pushing_` keeps pushes in order instead.
  bool direct = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (overflow_.empty() && !pushing_) {
      pushing_ = true;
      direct = true;
    } else {
      spillLocked(std::move(msg));
    }
  }
  if (direct) {
    pipeline::Batch batch;
    batch.push_back(std::move(msg));
    const bool ok = ingress_.tryPush(options_.branch, batch);
    std::lock_guard<std::mutex> lk(mu_);
    pushing_ = false;
    if (!ok) {
      // Nothing else can have been queued meanwhile (arrivals come from this thread only).
      spillLocked(std::move(batch.front()));
    }
    return;
  }
  drain();
}

bool MqttSource::spillLocked(pipeline::Message&& msg) {
  if (overflow_.size() < options_.overflowCapacity) {
    overflow_.push_back(std::move(msg));
    scheduleRetryLocked();
    return true;
  }
  if (routeMetrics_) {
    routeMetrics_->drop(metrics::DropReason::Overflow);
  }
  std::uint64_t suppressed = 0;
  if (overflowLog_.allow(&suppressed)) {
    log::warn("mqtt_source_overflow", {{"client", client_.options().clientId},
                                       {"capacity", options_.overflowCapacity},
                                       {"suppressed", suppressed}});
  }
  msg.completion.settle(pipeline::Outcome::Dropped);
  return false;
}

void MqttSource::drain() {
  for (;;) {
    pipeline::Batch batch;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (overflow_.empty() || pushing_) {
        return;
      }
      const std::size_t cap = ingress_.capacity();
      const std::size_t used = ingress_.inflight();
      const std::size_t n = std::min(cap > used ? cap - used : 1, overflow_.size());
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(overflow_.front()));
        overflow_.pop_front();
      }
      pushing_ = true;
    }
    const bool ok = ingress_.tryPush(options_.branch, batch);
    std::lock_guard<std::mutex> lk(mu_);
    pushing_ = false;
    if (!ok) {
      // Put them back in front of anything that arrived meanwhile, in order.
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
        overflow_.push_front(std::move(*it));
      }
      scheduleRetryLocked();
      return;
    }
  }
}

void MqttSource::scheduleRetryLocked() {
  if (stopping_ || retryTimer_ != 0) {
    return;
  }
  retryTimer_ = timer_->after(options_.overflowRetry, [this] {
    {
      std::lock_guard<std::mutex> lk(mu_);
      retryTimer_ = 0;
    }
    drain();
    std::lock_guard<std::mutex> lk(mu_);
    if (!overflow_.empty()) {
      scheduleRetryLocked();
    }
  });
}

}  // namespace mqb::sources

#include "sinks/mqtt/mqtt_sink.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstring>

#include "metrics/log.h"

namespace mqb::sinks {
namespace {

constexpr int kPubackPacket = 4;  // MQTT control packet type of PUBACK

void addData(MQTTProperties& props, enum MQTTPropertyCodes id, const std::string& v) {
  MQTTProperty p;
  std::memset(&p, 0, sizeof p);
  p.identifier = id;
  p.value.data.data = const_cast<char*>(v.data());
  p.value.data.len = static_cast<int>(v.size());
  MQTTProperties_add(&props, &p);
}

std::size_t varintSize(std::size_t n) {
  std::size_t s = 1;
  while (n >= 128) {
    n /= 128;
    ++s;
  }
  return s;
}

}  // namespace

MQTTProperties toPaho(const pipeline::Properties& props, const std::string& markerKey,
                      const std::string& markerValue, std::optional<std::uint32_t> expiry) {
  MQTTProperties out = MQTTProperties_initializer;
  bool marked = false;
  for (const auto& u : props.user) {
    if (!markerValue.empty() && u.key == markerKey && u.value == markerValue) {
      marked = true;
    }
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
    p.value.data.data = const_cast<char*>(u.key.data());
    p.value.data.len = static_cast<int>(u.key.size());
    p.value.value.data = const_cast<char*>(u.value.data());
    p.value.value.len = static_cast<int>(u.value.size());
    MQTTProperties_add(&out, &p);
  }
  if (!markerValue.empty() && !marked) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
    p.value.data.data = const_cast<char*>(markerKey.data());
    p.value.data.len = static_cast<int>(markerKey.size());
    p.value.value.data = const_cast<char*>(markerValue.data());
    p.value.value.len = static_cast<int>(markerValue.size());
    MQTTProperties_add(&out, &p);
  }
  if (props.contentType) {
    addData(out, MQTTPROPERTY_CODE_CONTENT_TYPE, *props.contentType);
  }
  if (props.payloadFormat) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_PAYLOAD_FORMAT_INDICATOR;
    p.value.byte = *props.payloadFormat;
    MQTTProperties_add(&out, &p);
  }
  if (props.messageExpirySeconds) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
    p.value.integer4 = expiry ? *expiry : *props.messageExpirySeconds;
    MQTTProperties_add(&out, &p);
  }
  if (props.responseTopic) {
    addData(out, MQTTPROPERTY_CODE_RESPONSE_TOPIC, *props.responseTopic);
  }
  if (props.correlationData) {
    addData(out, MQTTPROPERTY_CODE_CORRELATION_DATA, *props.correlationData);
  }
  return out;
}

MqttSink::MqttSink(sources::ClientOptions client, SinkOptions options,
                   metrics::RouteMetrics* routeMetrics, metrics::ClientMetrics* clientMetrics,
                   const pipeline::Clock* clock, sources::Timer* timer)
    : options_(std::move(options)),
      metrics_(routeMetrics),
      clock_(clock ? clock : &pipeline::SystemClock::instance()),
      timer_(timer ? timer : &sources::Timer::shared()),
      client_(
          [&] {
            client.maxInflight = std::max(1, options_.maxInflight);
            // Always a clean session: the sink re-sends unacknowledged messages itself, and a
            // Paho-side retransmission would complete tokens the sink no longer tracks.
            client.persistentSession = false;
            return std::move(client);
          }(),
          this, clientMetrics, timer_) {
  window_ = static_cast<std::size_t>(std::max(1, options_.maxInflight));
}

MqttSink::~MqttSink() {
  stop(std::chrono::milliseconds(0));
  if (plainPropsBuilt_) {
    MQTTProperties_free(&plainProps_);
  }
}

void MqttSink::setRelease(pipeline::ReleaseFn release) { release_ = std::move(release); }

void MqttSink::start() { client_.start(); }

std::size_t MqttSink::heldForTest() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size() + retry_.size() + outstanding_.size();
}

std::size_t MqttSink::maxOutstandingForTest() const {
  std::lock_guard<std::mutex> lk(mu_);
  return maxOutstanding_;
}

void MqttSink::write(pipeline::Batch&& batch) noexcept {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& m : batch) {
      if (stopping_) {
        done.push_back({std::move(m), pipeline::Outcome::Dropped, metrics::DropReason::Shutdown});
      } else {
        queue_.push_back(std::move(m));
      }
    }
  }
  batch.clear();
  finish(done);
  pump();
}

void MqttSink::onConnected(const sources::ConnectInfo& info) noexcept {
  {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = true;
    ++connection_;
    window_ = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options_.maxInflight)),
                                    std::max<std::size_t>(1, info.receiveMaximum));
    maxPacket_ = info.maximumPacketSize;
    early_.clear();
  }
  pump();
}

void MqttSink::onConnectionLost() noexcept {
  {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = false;
    ++connection_;
    // The clean session forgets what was in flight: send it again after the reconnect.
    for (auto& [token, p] : outstanding_) {
      retry_.emplace(p.seq, std::move(p.msg));
    }
    if (metrics_ && metrics_->retried) {
      metrics_->retried->Increment(static_cast<double>(outstanding_.size()));
    }
    outstanding_.clear();
    early_.clear();
  }
  pump();  // drops QoS 0 messages at the head
}

void MqttSink::onPublished5(void* ctx, MQTTAsync_successData5* r) {
  Result res;
  res.ok = true;
  if (r != nullptr && r->reasonCode >= 0x80) {
    res.ok = false;
    res.reasonCode = r->reasonCode;
    res.packetType = kPubackPacket;
  }
  static_cast<MqttSink*>(ctx)->complete(r ? r->token : 0, res);
}

void MqttSink::onPublishFailed5(void* ctx, MQTTAsync_failureData5* r) {
  Result res;
  res.ok = false;
  if (r != nullptr) {
    res.reasonCode = r->reasonCode;
    res.packetType = r->packet_type;
  }
  static_cast<MqttSink*>(ctx)->complete(r ? r->token : 0, res);
}

void MqttSink::onPublished3(void* ctx, MQTTAsync_successData* r) {
  static_cast<MqttSink*>(ctx)->complete(r ? r->token : 0, Result{});
}

void MqttSink::onPublishFailed3(void* ctx, MQTTAsync_failureData* r) {
  Result res;
  res.ok = false;
  static_cast<MqttSink*>(ctx)->complete(r ? r->token : 0, res);
}

void MqttSink::complete(int token, const Result& result) noexcept {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = outstanding_.find(token);
    if (it == outstanding_.end()) {
      if (limbo_) {
        early_.emplace_back(token, result);  // sendMessage has not returned its token yet
      }
      return;  // stale (from a connection that is gone): already queued for re-sending
    }
    Pending p = std::move(it->second);
    outstanding_.erase(it);
    resolveLocked(std::move(p), result, done);
  }
  finish(done);
  pump();
}

void MqttSink::resolveLocked(Pending&& p, const Result& result, std::vector<Done>& done) {
  if (result.ok) {
    done.push_back({std::move(p.msg), pipeline::Outcome::Delivered, metrics::DropReason::kCount});
  } else if (result.packetType == kPubackPacket && result.reasonCode >= 0x80) {
    static log::Every every(std::chrono::seconds(10));  // one target can refuse every message
    log::warnEvery(every, "mqtt_publish_rejected",
                   {{"client", client_.options().clientId},
                    {"topic", p.msg.topic},
                    {"reason", sources::reasonName(result.reasonCode)}});
    done.push_back({std::move(p.msg), pipeline::Outcome::Dropped, metrics::DropReason::Rejected});
  } else {
    // Not refused by the broker (connection trouble, timeout): send it again.
    if (metrics_ && metrics_->retried) {
      metrics_->retried->Increment();
    }
    retry_.emplace(p.seq, std::move(p.msg));
  }
}

void MqttSink::finish(std::vector<Done>& done) noexcept {
  if (done.empty()) {
    return;
  }
  const auto now = clock_->now();
  std::size_t n = 0;
  for (auto& d : done) {
    if (d.outcome == pipeline::Outcome::Delivered) {
      if (metrics_) {
        if (metrics_->forwarded) {
          metrics_->forwarded->Increment();
        }
        if (metrics_->forwardedBytes) {
          metrics_->forwardedBytes->Increment(static_cast<double>(d.msg.payload.size()));
        }
        if (metrics_->latency && d.msg.received != pipeline::SteadyTime{}) {
          metrics_->latency->Observe(std::chrono::duration<double>(now - d.msg.received).count());
        }
      }
    } else if (metrics_ && d.reason != metrics::DropReason::kCount) {
      metrics_->drop(d.reason);
    }
    d.msg.completion.settle(d.outcome);
    ++n;
  }
  if (metrics_ && metrics_->lastDeliveryTimestamp) {
    for (const auto& d : done) {
      if (d.outcome == pipeline::Outcome::Delivered) {
        metrics_->lastDeliveryTimestamp->Set(
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        break;
      }
    }
  }
  done.clear();
  {
    std::lock_guard<std::mutex> lk(mu_);
    idleCv_.notify_all();
  }
  if (release_) {
    release_(n);
  }
}

std::size_t MqttSink::packetSize(const pipeline::Message& m) const {
  std::size_t rem = 2 + m.topic.size() + (m.qos > 0 ? 2 : 0) + m.payload.size();
  if (client_.v5()) {
    std::size_t props = 0;
    for (const auto& u : m.props.user) {
      props += 1 + 2 + u.key.size() + 2 + u.value.size();
    }
    if (!options_.hopMarkerValue.empty()) {
      props += 1 + 2 + options_.hopMarkerKey.size() + 2 + options_.hopMarkerValue.size();
    }
    if (m.props.contentType) props += 3 + m.props.contentType->size();
    if (m.props.payloadFormat) props += 2;
    if (m.props.messageExpirySeconds) props += 5;
    if (m.props.responseTopic) props += 3 + m.props.responseTopic->size();
    if (m.props.correlationData) props += 3 + m.props.correlationData->size();
    rem += varintSize(props) + props;
  }
  return 1 + varintSize(rem) + rem;
}

void MqttSink::wakeAtLocked(pipeline::SteadyTime at) {
  if (stopping_ && queue_.empty() && retry_.empty()) {
    return;
  }
  if (!timers_.empty() && wakeAt_ != pipeline::SteadyTime{} && wakeAt_ <= at) {
    return;  // an earlier wake-up is already pending
  }
  wakeAt_ = at;
  // The timer runs on steady_clock; translate from the (possibly injected) clock.
  const auto delay = at - clock_->now();
  auto id = std::make_shared<sources::Timer::Id>(0);
  *id = timer_->schedule(sources::Timer::Clock::now() + std::max(delay, pipeline::Nanos(0)),
                         [this, id] {
                           {
                             std::lock_guard<std::mutex> lk(mu_);
                             timers_.erase(*id);
                             if (timers_.empty()) {
                               wakeAt_ = {};
                             }
                           }
                           pump();
                         });
  timers_.insert(*id);
}

void MqttSink::pump() noexcept {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) {
      return;
    }
    if (pumping_) {
      again_ = true;
      return;
    }
    pumping_ = true;
  }
  std::vector<Done> done;
  for (;;) {
    pipeline::Message msg;
    std::uint64_t seq = 0;
    std::uint64_t connection = 0;
    std::optional<std::uint32_t> expiry;
    {
      std::unique_lock<std::mutex> lk(mu_);
      again_ = false;
      bool fromRetry = !retry_.empty();
      pipeline::Message* head =
          fromRetry ? &retry_.begin()->second : (queue_.empty() ? nullptr : &queue_.front());
      auto pop = [&] {
        if (fromRetry) {
          seq = retry_.begin()->first;
          msg = std::move(retry_.begin()->second);
          retry_.erase(retry_.begin());
        } else {
          seq = nextSeq_++;
          msg = std::move(queue_.front());
          queue_.pop_front();
        }
      };
      if (head == nullptr || closed_) {
        pumping_ = false;
        break;
      }
      const auto now = clock_->now();
      if (!connected_) {
        if (head->qos == 0) {
          pop();
          done.push_back(
              {std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Qos0Disconnected});
          continue;
        }
        pumping_ = false;  // QoS 1 waits for the reconnect
        break;
      }
      if (head->notBefore != pipeline::SteadyTime{} && head->notBefore > now) {
        wakeAtLocked(head->notBefore);
        pumping_ = false;
        break;
      }
      if (head->qos > 0 && outstanding_.size() >= window_) {
        pumping_ = false;  // a PUBACK will call pump() again
        break;
      }
      pop();
      // Message expiry (v5): reduce by the time spent in the bridge; drop when it ran out. The
      // message keeps its original value (a re-send computes again from `received`).
      if (msg.props.messageExpirySeconds && msg.received != pipeline::SteadyTime{}) {
        const auto spent = std::chrono::duration_cast<std::chrono::seconds>(now - msg.received);
        const auto original = static_cast<long long>(*msg.props.messageExpirySeconds);
        if (spent.count() >= original) {
          done.push_back(
              {std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Expired});
          continue;
        }
        expiry = static_cast<std::uint32_t>(original - spent.count());
      }
      if (maxPacket_ != 0 && packetSize(msg) > maxPacket_) {
        static log::Every every(std::chrono::seconds(10));  // one target can refuse every message
        log::warnEvery(every, "mqtt_publish_too_large",
                       {{"client", client_.options().clientId},
                        {"topic", msg.topic},
                        {"bytes", packetSize(msg)},
                        {"maximum_packet_size", maxPacket_}});
        done.push_back({std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Rejected});
        continue;
      }
      limbo_ = true;
      connection = connection_;
    }

    // Outside mu_: Paho takes its global mutex, and its callbacks take mu_.
    MQTTAsync_message pm = MQTTAsync_message_initializer;
    pm.payload = msg.payload.empty() ? nullptr : msg.payload.data();
    pm.payloadlen = static_cast<int>(msg.payload.size());
    pm.qos = msg.qos;
    pm.retained = (options_.retain == config::RetainPolicy::Never) ? 0 : (msg.retain ? 1 : 0);
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = this;
    const bool v5 = client_.v5();
    // Most messages carry no properties of their own: send a list built once (just the hop
    // marker) instead of building and freeing one per message through Paho's tracked heap.
    const bool shared = v5 && msg.props.empty();
    if (shared) {
      if (!plainPropsBuilt_) {
        plainProps_ = toPaho(msg.props, options_.hopMarkerKey, options_.hopMarkerValue);
        plainPropsBuilt_ = true;
      }
      pm.properties = plainProps_;
      if (msg.qos > 0) {
        r.onSuccess5 = &MqttSink::onPublished5;
        r.onFailure5 = &MqttSink::onPublishFailed5;
      }
    } else if (v5) {
      pm.properties = toPaho(msg.props, options_.hopMarkerKey, options_.hopMarkerValue, expiry);
      if (msg.qos > 0) {
        r.onSuccess5 = &MqttSink::onPublished5;
        r.onFailure5 = &MqttSink::onPublishFailed5;
      }
    } else if (msg.qos > 0) {
      r.onSuccess = &MqttSink::onPublished3;
      r.onFailure = &MqttSink::onPublishFailed3;
    }
    // Always pass response options: without them Paho drops the v5 properties.
    const int rc = MQTTAsync_sendMessage(client_.handle(), msg.topic.c_str(), &pm, &r);
    if (v5 && !shared) {
      MQTTProperties_free(&pm.properties);
    }
    if (log::enabled(log::Level::Debug)) {
      log::debug("mqtt_publish", {{"client", client_.options().clientId},
                                  {"topic", msg.topic},
                                  {"qos", static_cast<int>(msg.qos)},
                                  {"retain", pm.retained},
                                  {"bytes", msg.payload.size()},
                                  {"rc", rc}});
    }
    std::lock_guard<std::mutex> lk(mu_);
    limbo_ = false;
    if (rc == MQTTASYNC_SUCCESS) {
      if (msg.qos == 0) {
        done.push_back({std::move(msg), pipeline::Outcome::Delivered, metrics::DropReason::kCount});
      } else if (connection != connection_) {
        // The connection went (and maybe came back) while we were sending: its clean session will
        // not report this one; send it again.
        retry_.emplace(seq, std::move(msg));
      } else {
        Pending p{seq, std::move(msg)};
        auto early = std::find_if(early_.begin(), early_.end(),
                                  [&](const auto& e) { return e.first == r.token; });
        if (early != early_.end()) {
          resolveLocked(std::move(p), early->second, done);
        } else {
          outstanding_.emplace(r.token, std::move(p));
          maxOutstanding_ = std::max(maxOutstanding_, outstanding_.size());
        }
      }
      early_.clear();
    } else if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES || rc == MQTTASYNC_NO_MORE_MSGIDS ||
               rc == MQTTASYNC_DISCONNECTED) {
      early_.clear();
      retry_.emplace(seq, std::move(msg));
      if (rc == MQTTASYNC_DISCONNECTED) {
        // connectionLost will follow; the reconnect pumps again.
        pumping_ = false;
        break;
      }
      wakeAtLocked(clock_->now() + std::chrono::milliseconds(5));
      pumping_ = false;
      break;
    } else {
      early_.clear();
      static log::Every every(std::chrono::seconds(10));  // one target can refuse every message
      log::warnEvery(every, "mqtt_publish_refused",
                     {{"client", client_.options().clientId},
                      {"topic", msg.topic},
                      {"error", MQTTAsync_strerror(rc)}});
      done.push_back({std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Rejected});
    }
    if (done.size() >= 64) {
      // Settle outside the lock in bounded chunks (finish() takes mu_ itself).
      mu_.unlock();
      finish(done);
      mu_.lock();
    }
  }
  finish(done);
  // Something arrived while we were finishing up: run again.
  bool again;
  {
    std::lock_guard<std::mutex> lk(mu_);
    again = again_ && !pumping_ && !closed_;
    again_ = false;
    idleCv_.notify_all();  // stop() waits for the pump to be idle
  }
  if (again) {
    pump();
  }
}

void MqttSink::stop() { stop(options_.stopTimeout); }

void MqttSink::stop(std::chrono::milliseconds deadline) {
  std::set<sources::Timer::Id> timers;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_ && !client_.handle()) {
      return;
    }
    stopping_ = true;
    idleCv_.wait_for(lk, deadline,
                     [this] { return queue_.empty() && retry_.empty() && outstanding_.empty(); });
    // No send may be in progress while the client is destroyed.
    closed_ = true;
    idleCv_.wait(lk, [this] { return !pumping_; });
    timers.swap(timers_);
  }
  for (auto id : timers) {
    timer_->cancel(id);
  }
  client_.stop();
  {
    std::lock_guard<std::mutex> lk(mu_);
    timers.swap(timers_);
  }
  for (auto id : timers) {
    timer_->cancel(id);
  }
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [seq, m] : retry_) {
      done.push_back({std::move(m), pipeline::Outcome::Dropped, metrics::DropReason::Shutdown});
    }
    retry_.clear();
    std::vector<std::pair<std::uint64_t, pipeline::Message>> out;
    for (auto& [token, p] : outstanding_) {
      done.push_back({std::move(p.msg), pipeline::Outcome::Dropped, metrics::DropReason::Shutdown});
    }
    outstanding_.clear();
    for (auto& m : queue_) {
      done.push_back({std::move(m), pipeline::Outcome::Dropped, metrics::DropReason::Shutdown});
    }
    queue_.clear();
    connected_ = false;
  }
  if (!done.empty()) {
    log::warn("mqtt_sink_stopped_with_messages",
              {{"client", client_.options().clientId}, {"count", done.size()}});
  }
  finish(done);
}

}  // namespace mqb::sinks

#include "sinks/mqtt/mqtt_sink.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstring>

#include "common/log.h"
#include "common/text.h"

namespace mqb::sinks {

const pipeline::UserProperty* markerFor(const pipeline::Properties& props,
                                        const pipeline::UserProperty& marker) noexcept {
  if (marker.value.empty()) {
    return nullptr;
  }
  for (const auto& u : props.user) {
    if (u == marker) {
      return nullptr;
    }
  }
  return &marker;
}

MqttSink::MqttSink(mqtt::ClientOptions client, SinkOptions options,
                   metrics::RouteMetrics* routeMetrics, metrics::ClientMetrics* clientMetrics,
                   const pipeline::Clock* clock, common::Timer* timer)
    : options_(std::move(options)),
      marker_{options_.hopMarkerKey, options_.hopMarkerValue},
      metrics_(routeMetrics),
      clock_(clock ? clock : &pipeline::SystemClock::instance()),
      timer_(timer ? timer : &common::Timer::shared()),
      observer_(clientMetrics),
      client_(
          [&] {
            // Always a clean session: the sink re-sends unacknowledged messages itself.
            client.persistentSession = false;
            client.sendWindow = static_cast<std::size_t>(std::max(1, options_.maxInflight));
            return std::move(client);
          }(),
          this, &observer_) {
  window_ = static_cast<std::size_t>(std::max(1, options_.maxInflight));
}

MqttSink::~MqttSink() { stop(std::chrono::milliseconds(0)); }

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

void MqttSink::onConnected(const mqtt::ConnectInfo& info) noexcept {
  {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = true;
    window_ = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options_.maxInflight)),
                                    std::max<std::size_t>(1, info.receiveMaximum));
    maxPacket_ = info.maximumPacketSize;
    maxQos_ = info.maximumQos;
    retainAvailable_ = info.retainAvailable;
  }
  pump();
}

void MqttSink::onWritable() noexcept { pump(); }

bool MqttSink::suspicious(const mqtt::Failure& why) noexcept {
  using C = mqtt::Cause;
  switch (why.cause) {
    case C::ConnectionClosed:  // a broker closes on a packet it will not take (3.1.1 always)
    case C::SocketError:       // reset: closed while our next packets were still arriving
      return true;
    case C::ServerDisconnect:
      switch (why.code) {
        case 0x80:  // unspecified error
        case 0x81:  // malformed packet
        case 0x82:  // protocol error
        case 0x83:  // implementation specific error
        case 0x87:  // not authorized
        case 0x90:  // topic name invalid
        case 0x95:  // packet too large
        case 0x99:  // payload format invalid
        case 0x9A:  // retain not supported
        case 0x9B:  // QoS not supported
          return true;
        default:  // shutting down, session taken over, keep-alive, quota...: not the message
          return false;
      }
    default:
      return false;
  }
}

void MqttSink::onConnectionLost(const mqtt::Failure& why) noexcept {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = false;
    probeSeq_ = 0;
    const bool suspect = suspicious(why) && !outstanding_.empty();
    const bool alone = outstanding_.size() == 1;
    std::erase_if(sentBefore_, [this](std::uint64_t seq) { return retry_.count(seq) == 0; });
    // The clean session forgets what was in flight: send it again after the reconnect.
    for (auto& [seq, m] : outstanding_) {
      if (suspect) {
        const std::uint8_t n = ++losses_[seq];
        if (alone && n >= kDeadLetterAfter) {
          // Sent alone, and the target dropped the connection again: this message is the cause.
          losses_.erase(seq);
          done.push_back(
              {std::move(m), pipeline::Outcome::Dropped, metrics::DropReason::Rejected,
               std::make_unique<Letter>(
                   Letter{metrics::DeadLetterReason::RepeatedDisconnects,
                          std::to_string(n) + " connection losses while in flight, the last one " +
                              std::string(mqtt::name(why.cause)) + ": " + mqtt::detailOf(why)})});
          continue;
        }
      }
      sentBefore_.insert(seq);
      retry_.emplace(seq, std::move(m));
    }
    if (metrics_ && metrics_->retried) {
      metrics_->retried->Increment(static_cast<double>(outstanding_.size() - done.size()));
    }
    outstanding_.clear();
  }
  finish(done);
  pump();  // drops QoS 0 messages at the head
}

void MqttSink::onPublishedBatch(
    std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept {
  // One lock, one settle pass and one refill for every PUBACK of a read.
  std::vector<Done> done;
  done.reserve(results.size());
  bool pace = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    const bool few = results.size() < std::max<std::size_t>(1, window_ / 4);
    // A full window with more waiting, acknowledged a few at a time: the broker still has most
    // of the window to work through, so the next read can wait for a batch of acknowledgements.
    pace = few && outstanding_.size() >= window_ && !(queue_.empty() && retry_.empty());
    // A steady flow below saturation: every message is sent as it comes (from the subscriber's
    // thread) and its PUBACK arrives on its own a moment later. Reading those one at a time costs
    // a wake-up each; a read a millisecond later takes them together. The window stays open
    // meanwhile, so nothing waits for it (a millisecond is a tenth of a window of 100 at 10k
    // msg/s). Only while they keep coming: a lone message's PUBACK is read at once.
    const bool steady =
        lastAcks_ != std::chrono::steady_clock::time_point{} && now - lastAcks_ < kSteadyAcks;
    lastAcks_ = now;
    const std::size_t before = outstanding_.size();
    for (const auto& [cookie, reasonCode] : results) {
      auto it = outstanding_.find(cookie);
      if (it == outstanding_.end()) {
        continue;  // stale (from a connection that is gone): already queued for re-sending
      }
      pipeline::Message msg = std::move(it->second);
      outstanding_.erase(it);
      resolveLocked(cookie, std::move(msg), reasonCode, done);
    }
    // More in flight after this read, which settled some of them (not only stale ones).
    pace = pace || (few && steady && !outstanding_.empty() && outstanding_.size() < before);
  }
  finish(done);
  pump();
  if (pace) {
    client_.paceNextRead(kPace);
  }
}

void MqttSink::resolveLocked(std::uint64_t seq, pipeline::Message&& msg, std::uint8_t reasonCode,
                             std::vector<Done>& done) {
  if (seq == probeSeq_) {
    probeSeq_ = 0;  // answered: the messages behind it may go again
  }
  if (!losses_.empty()) {
    losses_.erase(seq);  // the target took it: it was not the cause
  }
  if (reasonCode < 0x80) {
    if (!quotaRefusals_.empty()) {
      quotaRefusals_.erase(seq);
    }
    done.push_back({std::move(msg), pipeline::Outcome::Delivered, metrics::DropReason::kCount});
    return;
  }
  const std::string reason = mqtt::wire::reasonName(reasonCode);
  if (reasonCode == 0x97) {  // quota exceeded: the target asks us to slow down, not to give up
    const std::uint8_t n = ++quotaRefusals_[seq];
    if (n < kQuotaRetries) {
      const auto backoff = std::min<std::chrono::seconds>(std::chrono::seconds(1) * (1 << (n - 1)),
                                                          std::chrono::seconds(30));
      msg.notBefore = clock_->now() + backoff;
      retry_.emplace(seq, std::move(msg));
      if (metrics_ && metrics_->retried) {
        metrics_->retried->Increment();
      }
      static log::Every every(std::chrono::seconds(10));
      log::warnEvery(every, "mqtt_publish_quota_exceeded",
                     {{"client", client_.options().clientId},
                      {"attempt", static_cast<int>(n)},
                      {"retry_in_s", static_cast<int>(backoff.count())}});
      return;
    }
    quotaRefusals_.erase(seq);
  }
  done.push_back({std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Rejected,
                  std::make_unique<Letter>(Letter{
                      metrics::DeadLetterReason::Refused,
                      "the target answered " + reason + " (" + std::to_string(reasonCode) + ")"})});
}

void MqttSink::finish(std::vector<Done>& done) noexcept {
  if (done.empty()) {
    return;
  }
  const auto now = clock_->now();
  std::size_t n = 0;
  for (auto& d : done) {
    if (d.letter) {
      // Set aside (file I/O: here, outside the lock); the message is accounted as dropped.
      if (options_.deadLetters &&
          options_.deadLetters->put(d.msg, d.letter->reason, d.letter->detail, metrics_)) {
        d.reason = metrics::DropReason::DeadLettered;
      } else {
        static log::Every every(std::chrono::seconds(10));  // one target can refuse every message
        log::warnEvery(every, "mqtt_publish_rejected",
                       {{"client", client_.options().clientId},
                        {"topic", common::printable(d.msg.topic)},
                        {"reason", std::string(metrics::toString(d.letter->reason))},
                        {"detail", d.letter->detail}});
        d.reason = metrics::DropReason::Rejected;
      }
    }
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
  auto id = std::make_shared<common::Timer::Id>(0);
  *id = timer_->schedule(common::Timer::Clock::now() + std::max(delay, pipeline::Nanos(0)),
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

bool MqttSink::takeHeadLocked(pipeline::SteadyTime now, Head& h) {
  const bool fromRetry = !retry_.empty();
  pipeline::Message* head =
      fromRetry ? &retry_.begin()->second : (queue_.empty() ? nullptr : &queue_.front());
  if (head == nullptr) {
    return false;
  }
  if (!connected_ && head->qos > 0) {
    return false;  // QoS 1 waits for the reconnect
  }
  if (connected_ && head->notBefore != pipeline::SteadyTime{} && head->notBefore > now) {
    wakeAtLocked(head->notBefore);
    return false;
  }
  // The broker's Maximum QoS caps what is published (counted when it lowers a message's).
  h.qos = std::min(head->qos, maxQos_);
  if (h.qos > 0 && outstanding_.size() >= window_) {
    return false;  // a PUBACK calls pump() again
  }
  if (probeSeq_ != 0) {
    return false;  // a suspect is in flight alone: its answer (or a loss) decides
  }
  // A message in flight at kProbeAfter suspicious losses goes alone, once nothing else is.
  h.probe = fromRetry && !losses_.empty() && head->qos > 0 &&
            losses_.count(retry_.begin()->first) != 0 &&
            losses_[retry_.begin()->first] >= kProbeAfter;
  if (h.probe && !outstanding_.empty()) {
    return false;
  }
  if (fromRetry) {
    h.seq = retry_.begin()->first;
    h.msg = std::move(retry_.begin()->second);
    retry_.erase(retry_.begin());
  } else {
    h.seq = nextSeq_++;
    h.msg = std::move(queue_.front());
    queue_.pop_front();
  }
  return true;
}

bool MqttSink::publishLocked(Head& h, pipeline::SteadyTime now, std::vector<Done>& done,
                             bool& sent) {
  pipeline::Message& msg = h.msg;
  // Message expiry (v5): reduce by the time spent in the bridge; drop when it ran out. The
  // message keeps its original value (a re-send computes again from `received`).
  std::optional<std::uint32_t> expiry;
  if (msg.props.messageExpirySeconds && msg.received != pipeline::SteadyTime{}) {
    const auto spent = std::chrono::duration_cast<std::chrono::seconds>(now - msg.received);
    const auto original = static_cast<long long>(*msg.props.messageExpirySeconds);
    if (spent.count() >= original) {
      done.push_back({std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Expired});
      return true;
    }
    expiry = static_cast<std::uint32_t>(original - spent.count());
  }
  mqtt::Client::Publish pub;
  pub.topic = msg.topic;
  pub.payload = msg.payload;
  pub.qos = h.qos;
  pub.retain = options_.retain != config::RetainPolicy::Never && msg.retain;
  const bool stripRetain = pub.retain && !retainAvailable_;
  pub.retain = pub.retain && !stripRetain;
  pub.props = msg.props.empty() ? nullptr : &msg.props;
  pub.marker = markerFor(msg.props, marker_);
  pub.expiry = expiry;
  pub.defer = true;  // one client_.flush() for everything this pump sends
  pub.dup = !sentBefore_.empty() && sentBefore_.count(h.seq) != 0;
  if (maxPacket_ != 0 && client_.publishSize(pub) > maxPacket_) {
    const std::string why = std::to_string(client_.publishSize(pub)) +
                            " bytes, over the target's maximum packet size of " +
                            std::to_string(maxPacket_);
    done.push_back({std::move(msg), pipeline::Outcome::Dropped, metrics::DropReason::Rejected,
                    std::make_unique<Letter>(Letter{metrics::DeadLetterReason::TooLarge, why})});
    return true;
  }
  const auto rc = client_.publish(pub, h.seq);
  sent = sent || rc == mqtt::Client::Send::Ok;
  if (rc == mqtt::Client::Send::Ok && metrics_) {
    if (h.qos < msg.qos) {
      metrics_->adjust(metrics::Adjustment::QosDowngraded);
    }
    if (stripRetain) {
      metrics_->adjust(metrics::Adjustment::RetainStripped);
    }
  }
  if (log::enabled(log::Level::Debug)) {
    log::debug("mqtt_publish", {{"client", client_.options().clientId},
                                {"topic", msg.topic},
                                {"qos", static_cast<int>(msg.qos)},
                                {"retain", pub.retain ? 1 : 0},
                                {"bytes", msg.payload.size()},
                                {"rc", static_cast<int>(rc)}});
  }
  return settleSendLocked(rc, h, now, done);
}

bool MqttSink::settleSendLocked(mqtt::Client::Send rc, Head& h, pipeline::SteadyTime now,
                                std::vector<Done>& done) {
  if (rc == mqtt::Client::Send::Busy) {
    retry_.emplace(h.seq, std::move(h.msg));  // first again, once the output drains
    return false;                             // onWritable() pumps again
  }
  if (rc == mqtt::Client::Send::Ok) {
    if (h.qos == 0) {
      done.push_back({std::move(h.msg), pipeline::Outcome::Delivered, metrics::DropReason::kCount});
    } else {
      if (!sentBefore_.empty()) {
        sentBefore_.erase(h.seq);
      }
      outstanding_.emplace(h.seq, std::move(h.msg));
      maxOutstanding_ = std::max(maxOutstanding_, outstanding_.size());
      if (h.probe) {
        probeSeq_ = h.seq;
      }
    }
    return true;
  }
  if (h.msg.qos == 0) {
    done.push_back(
        {std::move(h.msg), pipeline::Outcome::Dropped, metrics::DropReason::Qos0Disconnected});
    return true;
  }
  retry_.emplace(h.seq, std::move(h.msg));
  if (rc == mqtt::Client::Send::NoPacketId) {
    wakeAtLocked(now + std::chrono::milliseconds(5));
  }
  // Disconnected: onConnectionLost follows (it waits for mu_), the reconnect pumps again.
  return false;
}

void MqttSink::pump() noexcept {
  std::vector<Done> done;
  bool sent = false;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) {
      return;
    }
    const auto now = clock_->now();
    Head h;
    while (takeHeadLocked(now, h)) {
      if (!connected_) {  // QoS 0 cannot wait
        done.push_back(
            {std::move(h.msg), pipeline::Outcome::Dropped, metrics::DropReason::Qos0Disconnected});
        continue;
      }
      if (!publishLocked(h, now, done, sent)) {
        break;
      }
      if (done.size() >= 256) {
        // Settle outside the lock in bounded chunks (finish() takes mu_ itself).
        lk.unlock();
        if (sent) {
          client_.flush();
          sent = false;
        }
        finish(done);
        lk.lock();
        if (closed_) {
          break;
        }
      }
    }
  }
  if (sent) {
    client_.flush();  // outside mu_: the send may take a moment
  }
  finish(done);
}

void MqttSink::stop() { stop(std::chrono::milliseconds(0)); }

void MqttSink::stop(std::chrono::milliseconds deadline) {
  std::set<common::Timer::Id> timers;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) {
      return;
    }
    stopping_ = true;
    idleCv_.wait_for(lk, deadline,
                     [this] { return queue_.empty() && retry_.empty() && outstanding_.empty(); });
    closed_ = true;  // pump() runs under mu_: none is running now, and none will publish again
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
    for (auto& [seq, m] : outstanding_) {
      done.push_back({std::move(m), pipeline::Outcome::Dropped, metrics::DropReason::Shutdown});
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

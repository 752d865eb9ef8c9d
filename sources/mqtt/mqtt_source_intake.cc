// MqttSource intake: messages from the client's I/O thread, admitted and pushed into the route
// graph directly, or spilled into the spool when the graph has no room (or messages wait there).

#include "sources/mqtt/mqtt_source.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "common/text.h"

namespace mqb::sources {

std::uint16_t MqttSource::receiveMaximumFor(std::uint64_t pauseMessages) noexcept {
  return static_cast<std::uint16_t>(std::clamp<std::uint64_t>(pauseMessages / 4, 1, 1024));
}

bool MqttSource::overPauseLimits() const noexcept {
  if (pauseAtMessages_ == 0 && pauseAtBytes_ == 0) {
    return false;
  }
  const spool::SpoolSize sz = options_.spool->size();
  return (pauseAtMessages_ != 0 && sz.messages >= pauseAtMessages_) ||
         (pauseAtBytes_ != 0 && sz.bytes >= pauseAtBytes_);
}

bool MqttSource::roomForBatch() const noexcept {
  const std::size_t cap = ingress_.capacity();
  const std::size_t used = ingress_.inflight();
  return used < cap && cap - used >= std::min(options_.feedBatch, cap / 2);
}

bool MqttSource::admit(pipeline::Message& msg) noexcept {
  receivedCount_.fetch_add(1, std::memory_order_relaxed);
  msg.received = std::chrono::steady_clock::now();
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
        return false;
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
  return true;
}

void MqttSource::onRefused(mqtt::Message&& message, mqtt::Refusal why,
                           const std::string& detail) noexcept {
  receivedCount_.fetch_add(1, std::memory_order_relaxed);
  if (routeMetrics_) {
    routeMetrics_->received->Increment();
    routeMetrics_->receivedBytes->Increment(static_cast<double>(message.payload.size()));
  }
  if (why == mqtt::Refusal::TooLarge) {
    // Its payload was discarded unread: nothing to keep.
    if (routeMetrics_) {
      routeMetrics_->drop(metrics::DropReason::TooLarge);
    }
    static log::Every every(std::chrono::seconds(10));  // one broker can send many
    log::warnEvery(every, "mqtt_message_too_large",
                   {{"client", client_.options().clientId},
                    {"topic", common::printable(message.topic)},
                    {"detail", detail}});
    return;
  }
  const auto reason = why == mqtt::Refusal::InvalidTopic
                          ? metrics::DeadLetterReason::InvalidTopic
                          : metrics::DeadLetterReason::InvalidProperties;
  // The client acknowledges it once this returns: it must be in the store by then.
  const bool kept =
      options_.deadLetters && options_.deadLetters->put(message, reason, detail, routeMetrics_);
  if (routeMetrics_) {
    routeMetrics_->drop(kept ? metrics::DropReason::DeadLettered : metrics::DropReason::Rejected);
  }
  if (!kept) {
    static log::Every every(std::chrono::seconds(10));
    log::warnEvery(every, "mqtt_message_refused",
                   {{"client", client_.options().clientId},
                    {"reason", std::string(metrics::toString(reason))},
                    {"topic", common::printable(message.topic)},
                    {"detail", detail},
                    {"action", "dropped (no dead-letter store)"}});
  }
}

void MqttSource::onMessages(std::vector<mqtt::Message>& in) noexcept {
  // The MQTT part of each message moves over; the bridge's bookkeeping starts afresh (admit()
  // sets `received` and the completion; seq and branch are the ingress's).
  std::vector<pipeline::Message>& batch = converted_;
  batch.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    pipeline::Message& m = batch[i];
    static_cast<mqtt::Message&>(m) = std::move(in[i]);
    m.notBefore = {};
    m.seq = 0;
    m.branch = 0;
  }
  if (batch.size() < kPaceBatch && ingress_.inflight() >= kPaceBacklog) {
    // What comes next waits behind this backlog anyway: read it in one go a moment later rather
    // than waking for every packet or two (each wake-up is tens of microseconds of kernel time).
    client_.paceNextRead(kPace);
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (admit(batch[i])) {
      if (n != i) {
        batch[n] = std::move(batch[i]);
      }
      ++n;
    }
  }
  batch.resize(n);
  if (batch.empty()) {
    return;
  }
  if (options_.spool) {
    const std::size_t taken = spoolBatch(batch);
    const bool all = taken == batch.size();
    // Feed the route from here when the feeder thread is idle: in steady state the messages
    // just written go on without a hand-off to another thread. Both feed the spool's records in
    // order under feedPushMu_, so order holds whoever pushes.
    bool leftBehind = taken > 0;
    if (taken > 0 && !settleFinal_.load() && feedPushMu_.try_lock()) {
      if (all && feedPending_.empty() && contiguousIds(taken) &&
          options_.spool->claim(spoolIds_[0], taken)) {
        // Nothing unread before them: push the messages in hand instead of reading them back.
        feedPending_.swap(batch);
        for (std::size_t i = 0; i < taken; ++i) {
          feedPending_[i].completion = pipeline::Completion(this, spoolIds_[i]);
        }
      }
      Feed r = Feed::Pushed;
      for (int i = 0; i < 4 && (r = feedOnceLocked()) == Feed::Pushed; ++i) {
      }
      feedPushMu_.unlock();
      leftBehind = r != Feed::Empty;
    }
    if (leftBehind) {
      wakeFeeder();  // records wait in the spool (or the route was full): the feeder goes on
    }
    if (!paused_.load(std::memory_order_acquire) && overPauseLimits()) {
      // Backpressure now, from this thread: read nothing more (so nothing more is acknowledged)
      // and let the feeder disconnect the subscriber (its persistent session queues the rest).
      client_.holdReading();
      pauseRequested_.store(true, std::memory_order_release);
      wakeFeeder();
    }
    if (all) {
      return;  // the spool has them: they go on from there, in order
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(taken));
  }
  pushDirect(batch);
}

bool MqttSource::contiguousIds(std::size_t n) const noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (spoolIds_[i] == 0 || spoolIds_[i] != spoolIds_[0] + i) {
      return false;
    }
  }
  return n > 0;
}

void MqttSource::pushDirect(std::vector<pipeline::Message>& batch) noexcept {
  // Never hold mu_ while pushing: the push may reach a sink that calls into a client, whose
  // callbacks take mu_. `pushing_` keeps pushes in order instead.
  bool direct = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (overflow_.empty() && !pushing_) {
      pushing_ = true;
      direct = true;
    } else {
      for (auto& m : batch) {
        spillLocked(std::move(m));
      }
    }
  }
  if (direct) {
    const bool ok = ingress_.tryPush(options_.branch, batch);
    std::lock_guard<std::mutex> lk(mu_);
    pushing_ = false;
    if (!ok) {
      // Nothing else can have been queued meanwhile (arrivals come from this thread only).
      for (auto& m : batch) {
        spillLocked(std::move(m));
      }
    }
    return;
  }
  drain();
}

}  // namespace mqb::sources

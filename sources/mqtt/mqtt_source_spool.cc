// MqttSource spool side: the feeder thread that moves spooled messages into the graph, the
// settling of delivered messages and the acknowledgements it releases to the source broker.

#include "sources/mqtt/mqtt_source.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "common/text.h"

namespace mqb::sources {

void MqttSource::settle(std::uint64_t token, pipeline::Outcome outcome) noexcept {
  // Delivered always acks. Filtered/Spooled/Dropped are final while the source runs (a Dropped
  // message was counted with its reason); once stopping, a Dropped (Shutdown) or never-settled
  // message must come back on the next run, so only deliveries ack.
  const bool ack = outcome == pipeline::Outcome::Delivered || !settleFinal_.load();
  if (ack) {
    if (settleFinal_.load()) {
      options_.spool->ack(token);  // stopping: nothing waits in a buffer
    } else {
      // Acks go to the spool in batches (one lock of the spool per batch instead of one per
      // message, taken from the publisher's I/O thread while the subscriber's appends): an ack
      // left in the buffer at a crash only means that message is replayed (a duplicate).
      std::vector<std::uint64_t> full;
      {
        std::lock_guard<std::mutex> lk(ackMu_);
        ackBuf_.push_back(token);
        if (ackBuf_.size() >= kAckBatch) {
          full.swap(ackBuf_);
        }
      }
      if (!full.empty()) {
        options_.spool->ack(std::span<const std::uint64_t>(full.data(), full.size()));
      }
    }
  }
  feederOutstanding_.fetch_sub(1, std::memory_order_relaxed);
  if (feederFull_.load(std::memory_order_relaxed) && roomForBatch()) {
    feedCv_.notify_one();
  }
}

void MqttSource::flushAcks() noexcept {
  std::vector<std::uint64_t> all;
  {
    std::lock_guard<std::mutex> lk(ackMu_);
    all.swap(ackBuf_);
  }
  if (!all.empty()) {
    options_.spool->ack(std::span<const std::uint64_t>(all.data(), all.size()));
  }
}

void MqttSource::updateSpoolGauges() noexcept {
  if (routeMetrics_ == nullptr || !options_.spool) {
    return;
  }
  const spool::SpoolSize sz = options_.spool->size();
  if (routeMetrics_->spoolMessages) {
    routeMetrics_->spoolMessages->Set(static_cast<double>(sz.messages));
  }
  if (routeMetrics_->spoolBytes) {
    routeMetrics_->spoolBytes->Set(static_cast<double>(sz.bytes));
  }
}

void MqttSource::feederLoop() noexcept {
  pthread_setname_np(pthread_self(), ("fd-" + client_.options().clientId).substr(0, 15).c_str());
  spool::Spool& spool = *options_.spool;
  auto lastGauge = std::chrono::steady_clock::now();
  const std::uint64_t pm = options_.pauseMessages;
  const std::uint64_t pb = options_.pauseBytes;
  const double rf = options_.resumeFraction;
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(feedMu_);
      if (feedStop_) {
        break;
      }
    }
    flushAcks();  // at least every 20 ms (the longest wait below)
    if (pm != 0 || pb != 0) {
      const spool::SpoolSize sz = spool.size();
      const bool over = pauseRequested_.load(std::memory_order_acquire) || overPauseLimits();
      const bool under =
          (pm == 0 || static_cast<double>(sz.messages) <= rf * static_cast<double>(pm)) &&
          (pb == 0 || static_cast<double>(sz.bytes) <= rf * static_cast<double>(pb));
      if (!paused_.load() && over) {
        log::warn("spool_full_pausing_source", {{"client", client_.options().clientId},
                                                {"messages", sz.messages},
                                                {"bytes", sz.bytes}});
        paused_.store(true, std::memory_order_release);
        client_.stop();  // the broker queues for the persistent session meanwhile
        pauseRequested_.store(false, std::memory_order_release);
        setSubscribed(false);
      } else if (paused_.load() && under && !draining_.load(std::memory_order_acquire)) {
        log::info("spool_drained_resuming_source", {{"client", client_.options().clientId},
                                                    {"messages", sz.messages},
                                                    {"bytes", sz.bytes}});
        paused_.store(false, std::memory_order_release);
        client_.start();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - lastGauge >= std::chrono::milliseconds(250)) {
      lastGauge = now;
      updateSpoolGauges();
    }
    Feed r;
    {
      std::lock_guard<std::mutex> lk(feedPushMu_);
      r = feedOnceLocked();
    }
    if (r == Feed::Pushed) {
      continue;
    }
    if (r == Feed::Empty) {
      // The I/O thread feeds what it appends itself and wakes us only for what it left behind:
      // no wake-up per append. The timeout bounds a missed signal (and paces the checks above).
      std::unique_lock<std::mutex> lk(feedMu_);
      dataCv_.wait_for(lk, std::chrono::milliseconds(20),
                       [this] { return feedStop_ || dataSignal_; });
      dataSignal_ = false;
      continue;
    }
    // The route is full: a settle that leaves room for a batch wakes us.
    feederFull_.store(true, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lk(feedMu_);
    feedCv_.wait_for(lk, std::chrono::milliseconds(2),
                     [this] { return feedStop_ || roomForBatch(); });
    feederFull_.store(false, std::memory_order_relaxed);
  }
  // Records read but not pushed: their completions settle as Filtered now, which does not ack
  // (settleFinal_ is set): they are replayed by the next run.
  {
    std::lock_guard<std::mutex> lk(feedPushMu_);
    feedPending_.clear();
  }
  updateSpoolGauges();
}

MqttSource::Feed MqttSource::feedOnceLocked() noexcept {
  if (feedPending_.empty()) {
    const std::size_t cap = ingress_.capacity();
    const std::size_t used = ingress_.inflight();
    const std::size_t room = cap > used ? cap - used : 0;
    if (room == 0) {
      return Feed::Full;
    }
    feedEntries_.clear();
    if (options_.spool->readNext(std::min(room, options_.feedBatch), feedEntries_) == 0) {
      return Feed::Empty;
    }
    feedPending_.reserve(feedEntries_.size());
    for (auto& e : feedEntries_) {
      e.msg.completion = pipeline::Completion(this, e.id);
      feedPending_.push_back(std::move(e.msg));
    }
  }
  const std::size_t n = feedPending_.size();
  feederOutstanding_.fetch_add(n, std::memory_order_relaxed);
  if (ingress_.tryPush(options_.branch, feedPending_)) {
    feedPending_.clear();
    return Feed::Pushed;
  }
  feederOutstanding_.fetch_sub(n, std::memory_order_relaxed);
  return Feed::Full;
}

void MqttSource::wakeFeeder() noexcept {
  {
    std::lock_guard<std::mutex> lk(feedMu_);
    dataSignal_ = true;
  }
  dataCv_.notify_one();  // a feeder waiting for room in the route re-checks within 2 ms anyway
}

std::size_t MqttSource::spoolBatch(std::vector<pipeline::Message>& batch) noexcept {
  // One write(2) for the whole read (and one fdatasync under fsync: always), before the client
  // sends the PUBACKs.
  const spool::BatchResult r = options_.spool->appendBatch(
      std::span<const pipeline::Message>(batch.data(), batch.size()), &spoolIds_);
  for (std::size_t i = 0; i < r.consumed; ++i) {
    // Refused ones (drop_newest, larger than the spool allows) were counted by the spool.
    batch[i].completion.settle(spoolIds_[i] != 0 ? pipeline::Outcome::Spooled
                                                 : pipeline::Outcome::Dropped);
  }
  if (r.consumed < batch.size()) {
    // The client acknowledges the messages once this callback returns, whatever happens: rather
    // than lose them, send them the direct (in-memory) way, and say so.
    std::uint64_t suppressed = 0;
    if (spoolLog_.allow(&suppressed)) {
      log::error("spool_append_failed", {{"client", client_.options().clientId},
                                         {"status", std::string(toString(r.status))},
                                         {"action", "forwarding from memory"},
                                         {"count", batch.size() - r.consumed},
                                         {"suppressed", suppressed}});
    }
  }
  return r.consumed;
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

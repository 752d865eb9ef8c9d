#include "sources/mqtt/mqtt_source.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "common/text.h"

namespace mqb::sources {

MqttSource::MqttSource(mqtt::ClientOptions client, SourceOptions options,
                       pipeline::Ingress& ingress, metrics::RouteMetrics* routeMetrics,
                       metrics::ClientMetrics* clientMetrics, pipeline::DeliveryTracker* tracker,
                       common::Timer* timer)
    : options_(std::move(options)),
      ingress_(ingress),
      routeMetrics_(routeMetrics),
      clientMetrics_(clientMetrics),
      tracker_(tracker),
      timer_(timer ? timer : &common::Timer::shared()),
      subscription_(options_.shareGroup.empty()
                        ? options_.filter
                        : "$share/" + options_.shareGroup + "/" + options_.filter),
      observer_(clientMetrics),
      client_(
          [&] {
            if (options_.spool && options_.pauseMessages > 0) {
              // The broker never has more than this many unacknowledged PUBLISHes on their way
              // to us: what arrives after the pause decision fits in the headroom below.
              client.receiveMaximum = receiveMaximumFor(options_.pauseMessages);
            }
            return std::move(client);
          }(),
          this, &observer_) {
  if (options_.pauseMessages > 0) {
    pauseAtMessages_ = options_.pauseMessages - receiveMaximumFor(options_.pauseMessages);
  }
  if (options_.pauseBytes > 0) {
    pauseAtBytes_ = options_.pauseBytes - options_.pauseBytes / 4;
  }
}

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

MqttSource::~MqttSource() { stop(); }

bool MqttSource::start() {
  if (options_.spool && !feeder_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(feedMu_);
      feedStop_ = false;
    }
    settleFinal_.store(false);
    const spool::SpoolStats st = options_.spool->stats();
    if (st.messages > 0) {
      log::info("spool_replay", {{"client", client_.options().clientId},
                                 {"messages", st.messages},
                                 {"bytes", st.bytes},
                                 {"recovered", st.recovered},
                                 {"truncated_bytes", st.truncatedBytes},
                                 {"skipped_bytes", st.skippedBytes}});
    }
    updateSpoolGauges();
    // The feeder starts first: what the spool holds from a previous run goes before anything new
    // (new arrivals are appended behind it in the same log).
    feeder_ = std::thread([this] { feederLoop(); });
  }
  return client_.start();
}

void MqttSource::stopFeeding() {
  if (!options_.spool) {
    return;
  }
  settleFinal_.store(true);
  {
    std::lock_guard<std::mutex> lk(feedMu_);
    feedStop_ = true;
  }
  feedCv_.notify_all();
  dataCv_.notify_all();
  if (feeder_.joinable()) {
    feeder_.join();  // no pause/resume after this: the client is ours alone
  }
  flushAcks();
  client_.stop();  // arrivals until here were appended: they wait in the spool for the next run
  {
    std::lock_guard<std::mutex> lk(feedPushMu_);
    feedPending_.clear();  // read by the I/O thread but refused by the route: replayed next run
  }
  setSubscribed(false);
  paused_.store(false);
  updateSpoolGauges();
}

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

bool MqttSource::roomForBatch() const noexcept {
  const std::size_t cap = ingress_.capacity();
  const std::size_t used = ingress_.inflight();
  return used < cap && cap - used >= std::min(options_.feedBatch, cap / 2);
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
      } else if (paused_.load() && under) {
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

bool MqttSource::ready() const noexcept {
  return client_.connected() && subscribed_.load(std::memory_order_acquire);
}

std::size_t MqttSource::overflowSizeForTest() const {
  std::lock_guard<std::mutex> lk(mu_);
  return overflow_.size();
}

void MqttSource::stop() {
  stopFeeding();
  auto cancelTimers = [this] {
    common::Timer::Id a, b;
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

void MqttSource::onConnected(const mqtt::ConnectInfo& /*info*/) noexcept {
  setSubscribed(false);
  subscribe();  // always: a lost session (or cleanstart) has no subscription any more
}

void MqttSource::onConnectionLost(const mqtt::Failure& /*why*/) noexcept { setSubscribed(false); }

void MqttSource::subscribe() {
  mqtt::wire::SubscribeOptions o;
  o.qos = static_cast<std::uint8_t>(options_.qos);
  if (client_.v5()) {
    o.retainAsPublished = true;  // keep the retain flag of live messages
    o.retainHandling = 1;        // retained messages only for a new subscription
  }
  const auto rc = client_.subscribe(subscription_, o, [this](bool ok, std::uint8_t code) {
    if (!ok) {
      subscribeFailed(code != 0 ? mqtt::wire::reasonName(code) : "subscribe_failed");
      return;
    }
    setSubscribed(true);
    log::info(
        "mqtt_subscribed",
        {{"client", client_.options().clientId}, {"filter", subscription_}, {"qos", options_.qos}});
  });
  if (rc == mqtt::Client::Send::Disconnected) {
    return;  // onConnected subscribes again
  }
  if (rc != mqtt::Client::Send::Ok) {
    subscribeFailed("no_packet_id");
  }
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

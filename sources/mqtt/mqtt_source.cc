// MqttSource: start, stop and the subscription. What it does with messages is in
// mqtt_source_intake.cc (from the client to the graph or the spool) and mqtt_source_spool.cc
// (the spool feeder and acknowledgements).

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

void MqttSource::stopSubscribing() {
  draining_.store(true, std::memory_order_release);
  client_.stop();
  setSubscribed(false);
}

bool MqttSource::spoolEmpty() const noexcept {
  return !options_.spool || options_.spool->size().messages == 0;
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

}  // namespace mqb::sources

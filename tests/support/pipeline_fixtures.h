#pragma once
// Test helpers for pipeline and stage tests: metrics (TestMetrics), a collecting emitter, a
// thread-safe delivery tracker, a recording sink that can hold messages, and route specs.

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/model.h"
#include "metrics/route_metrics.h"
#include "pipeline/message.h"
#include "pipeline/sink.h"
#include "pipeline/stage.h"
#include "tests/support/test_metrics.h"
#include "tests/support/wait.h"

namespace mqb::testing {

using test::TestMetrics;

class CollectingEmitter final : public pipeline::Emitter {
 public:
  void emit(pipeline::Message&& m) noexcept override { out.push_back(std::move(m)); }
  std::vector<pipeline::Message> out;
};

/// Counts outcomes; thread-safe.
class CountingTracker final : public pipeline::DeliveryTracker {
 public:
  void settle(std::uint64_t token, pipeline::Outcome o) noexcept override {
    std::lock_guard<std::mutex> l(mu_);
    ++byOutcome_[o];
    tokens_.push_back(token);
  }
  std::size_t count(pipeline::Outcome o) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = byOutcome_.find(o);
    return it == byOutcome_.end() ? 0 : it->second;
  }
  std::size_t total() const {
    std::lock_guard<std::mutex> l(mu_);
    return tokens_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<pipeline::Outcome, std::size_t> byOutcome_;
  std::vector<std::uint64_t> tokens_;
};

/// Records what it is given. Releases at once unless `hold` is set; held messages are settled
/// Delivered and released by releaseHeld() or stop().
class RecordingSink final : public pipeline::Sink {
 public:
  explicit RecordingSink(bool hold = false) : hold_(hold) {}
  void setRelease(pipeline::ReleaseFn r) override { release_ = std::move(r); }
  void write(pipeline::Batch&& batch) noexcept override {
    std::lock_guard<std::mutex> l(mu_);
    ++batches_;
    lastWriter_ = std::this_thread::get_id();
    for (auto& m : batch) {
      seqs_.push_back(m.seq);
      payloads_.push_back(m.payload);
      topics_.push_back(m.topic);
      if (hold_) {
        held_.push_back(std::move(m));
      } else {
        m.completion.settle(pipeline::Outcome::Delivered);
      }
    }
    received_.fetch_add(batch.size());
    if (!hold_ && release_) {
      release_(batch.size());
    }
  }
  void stop() override { releaseHeld(); }
  void releaseHeld() {
    std::vector<pipeline::Message> held;
    {
      std::lock_guard<std::mutex> l(mu_);
      held.swap(held_);
    }
    for (auto& m : held) {
      m.completion.settle(pipeline::Outcome::Delivered);
    }
    if (release_ && !held.empty()) {
      release_(held.size());
    }
  }
  std::size_t received() const { return received_.load(); }
  /// The thread of the last write().
  std::thread::id lastWriter() const {
    std::lock_guard<std::mutex> l(mu_);
    return lastWriter_;
  }
  std::vector<std::uint64_t> seqs() const {
    std::lock_guard<std::mutex> l(mu_);
    return seqs_;
  }
  std::vector<std::string> payloads() const {
    std::lock_guard<std::mutex> l(mu_);
    return payloads_;
  }
  std::vector<std::string> topics() const {
    std::lock_guard<std::mutex> l(mu_);
    return topics_;
  }

 private:
  bool hold_;
  pipeline::ReleaseFn release_;
  mutable std::mutex mu_;
  std::size_t batches_ = 0;
  std::thread::id lastWriter_;
  std::vector<std::uint64_t> seqs_;
  std::vector<std::string> payloads_;
  std::vector<std::string> topics_;
  std::vector<pipeline::Message> held_;
  std::atomic<std::size_t> received_{0};
};

inline config::RouteSpec makeRoute(const std::string& name, int clients = 1,
                                   std::optional<std::string> target = std::nullopt, int qos = 1) {
  config::RouteSpec r;
  r.name = name;
  r.qos = qos;
  r.source = "in/#";
  r.target = std::move(target);
  if (clients > 1) {
    r.sharedSubscription = config::SharedSubscriptionSpec{clients, "g"};
  }
  r.path = "spec.routes[0]";
  r.where = config::Location{"routes.yaml", 7, 7};
  return r;
}

/// test::waitFor with the pipeline tests' defaults: up to 20 s, polling every millisecond.
inline bool waitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return test::waitFor(cond, timeout, std::chrono::milliseconds(1));
}

inline pipeline::Message makeMessage(std::string topic, std::string payload = "x") {
  pipeline::Message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  return m;
}

}  // namespace mqb::testing

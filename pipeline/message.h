#pragma once
// The message that flows through a route: everything MQTT can carry, plus what the bridge needs to
// report the outcome back to the source.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/message.h"
#include "pipeline/clock.h"

namespace mqb::pipeline {

using UserProperty = mqtt::UserProperty;
using Properties = mqtt::Properties;

/// What became of a message. Exactly one outcome is reported per message that entered a route.
enum class Outcome : std::uint8_t {
  Delivered,  ///< acknowledged by the target broker (or written, for QoS 0)
  Spooled,    ///< safe in the route's durable spool; delivery continues from there
  Filtered,   ///< intentionally not forwarded (a filter stage, a loop marker)
  Dropped,    ///< not forwarded because of an error; the reason is counted where it happened
};

/// Receives outcomes. Implemented by sources (acknowledgement, spool deletion) and tests.
/// `settle` may be called from any thread (TBB workers, MQTT client I/O threads); must not block
/// or throw.
class DeliveryTracker {
 public:
  virtual ~DeliveryTracker() = default;
  virtual void settle(std::uint64_t token, Outcome outcome) noexcept = 0;
};

/// Move-only handle through which whoever finishes with a message reports its outcome, once.
/// A handle destroyed without an explicit outcome reports Filtered, so nothing is ever left
/// unsettled. `share()` splits it for fan-out: the tracker hears once, after every part settled,
/// with the worst outcome (Dropped > Filtered > Spooled > Delivered).
class Completion {
 public:
  Completion() noexcept = default;
  Completion(DeliveryTracker* tracker, std::uint64_t token) noexcept
      : tracker_(tracker), token_(token) {}
  Completion(Completion&& o) noexcept
      : tracker_(std::exchange(o.tracker_, nullptr)), token_(o.token_), join_(std::move(o.join_)) {}
  Completion& operator=(Completion&& o) noexcept {
    if (this != &o) {
      settle(Outcome::Filtered);
      tracker_ = std::exchange(o.tracker_, nullptr);
      token_ = o.token_;
      join_ = std::move(o.join_);
    }
    return *this;
  }
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  ~Completion() { settle(Outcome::Filtered); }

  explicit operator bool() const noexcept { return tracker_ != nullptr; }
  std::uint64_t token() const noexcept { return token_; }

  /// Reports the outcome; later calls are no-ops.
  void settle(Outcome outcome) noexcept {
    DeliveryTracker* t = std::exchange(tracker_, nullptr);
    if (t == nullptr) {
      return;
    }
    if (join_) {
      auto j = std::move(join_);
      std::uint8_t cur = j->worst.load(std::memory_order_relaxed);
      while (static_cast<std::uint8_t>(outcome) > cur &&
             !j->worst.compare_exchange_weak(cur, static_cast<std::uint8_t>(outcome))) {
      }
      if (j->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) {
        return;
      }
      outcome = static_cast<Outcome>(j->worst.load());
    }
    t->settle(token_, outcome);
  }

  /// A second handle for the same message (fan-out). Allocates once per split.
  Completion share() {
    if (tracker_ == nullptr) {
      return {};
    }
    if (!join_) {
      join_ = std::make_shared<Join>();
    }
    join_->remaining.fetch_add(1, std::memory_order_relaxed);
    Completion c(tracker_, token_);
    c.join_ = join_;
    return c;
  }

 private:
  struct Join {
    std::atomic<int> remaining{1};
    std::atomic<std::uint8_t> worst{0};
  };
  DeliveryTracker* tracker_ = nullptr;
  std::uint64_t token_ = 0;
  std::shared_ptr<Join> join_;
};

/// An MQTT message (topic, payload, qos, retain, v5 properties) plus what the bridge tracks of it
/// on its way through a route.
struct Message : mqtt::Message {
  SteadyTime received{};     ///< when the bridge took it from the source
  SteadyTime notBefore{};    ///< earliest publish time (set by rate_limit); epoch = now
  std::uint64_t seq = 0;     ///< per-branch ingress sequence, gap-free
  std::uint32_t branch = 0;  ///< shared-subscription branch (client index) this message is on
  Completion completion;

  Message() = default;
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  /// A copy for fan-out: same content, a shared completion.
  Message fork() {
    Message m;
    m.topic = topic;
    m.payload = payload;
    m.qos = qos;
    m.retain = retain;
    m.props = props;
    m.received = received;
    m.notBefore = notBefore;
    m.seq = seq;
    m.branch = branch;
    m.completion = completion.share();
    return m;
  }
};

using Batch = std::vector<Message>;

}  // namespace mqb::pipeline

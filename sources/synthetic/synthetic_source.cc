#include "sources/synthetic/synthetic_source.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mqb::sources::synthetic {

SyntheticSource::SyntheticSource(Options options, PushFn push, const pipeline::Clock* clock)
    : o_(std::move(options)), push_(std::move(push)), clock_(clock) {
  const std::size_t devices = std::max<std::size_t>(1, o_.devices);
  topics_.reserve(devices);
  const std::size_t at = o_.topicPattern.find("{n}");
  for (std::size_t i = 0; i < devices; ++i) {
    std::string t = o_.topicPattern;
    if (at != std::string::npos) {
      t.replace(at, 3, std::to_string(i));
    }
    topics_.push_back(std::move(t));
  }
  payload_.resize(o_.payloadBytes);
  for (std::size_t i = 0; i < payload_.size(); ++i) {
    payload_[i] = static_cast<char>('a' + i % 26);
  }
  o_.batchSize = std::max<std::size_t>(1, o_.batchSize);
}

SyntheticSource::~SyntheticSource() {
  stop();
  join();
}

void SyntheticSource::start() {
  thread_ = std::thread([this] { run(); });
}

void SyntheticSource::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void SyntheticSource::run() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = o_.durationSeconds > 0
                       ? start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o_.durationSeconds))
                       : Clock::time_point::max();
  // Paced runs: about 1 ms worth of messages per batch, so latency is not dominated by batching.
  const std::size_t batchMax =
      o_.rate > 0
          ? std::clamp<std::size_t>(static_cast<std::size_t>(o_.rate / 1000), 1, o_.batchSize)
          : o_.batchSize;
  std::uint64_t made = 0;
  pipeline::Batch batch;
  while (!stop_.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    if (now >= end || (o_.count != 0 && made >= o_.count)) {
      break;
    }
    std::size_t want = batchMax;
    if (o_.count != 0) {
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, o_.count - made));
    }
    if (o_.rate > 0) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const auto due = static_cast<std::uint64_t>(elapsed * o_.rate) + 1;
      if (due <= made) {  // ahead of schedule: sleep until the next message is due
        const auto next =
            start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(made) / o_.rate));
        std::this_thread::sleep_until(std::min(next, end));
        continue;
      }
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, due - made));
    }
    batch.clear();
    batch.reserve(want);
    for (std::size_t i = 0; i < want; ++i) {
      pipeline::Message m;
      m.topic = topics_[(made + i) % topics_.size()];
      m.payload = payload_;
      m.qos = o_.qos;
      batch.push_back(std::move(m));
    }
    // Push, backing off while the pipeline is full. `received` is when the pipeline took it.
    for (int attempt = 0;; ++attempt) {
      const pipeline::SteadyTime t = clock_->now();
      for (auto& m : batch) {
        m.received = t;
      }
      if (push_(batch)) {
        break;
      }
      refused_.fetch_add(1, std::memory_order_relaxed);
      if (stop_.load(std::memory_order_relaxed) || Clock::now() >= end) {
        done_.store(true, std::memory_order_release);
        return;
      }
      if (attempt < 16) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(std::min(200, 10 * (attempt - 15))));
      }
    }
    made += want;
    produced_.store(made, std::memory_order_relaxed);
  }
  done_.store(true, std::memory_order_release);
}

}  // namespace mqb::sources::synthetic

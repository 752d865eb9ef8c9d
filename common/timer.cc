#include "common/timer.h"

namespace mqb::common {

Timer::Timer() : thread_([this] { run(); }) {}

Timer::~Timer() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Timer& Timer::shared() {
  static Timer t;
  return t;
}

Timer::Id Timer::schedule(Clock::time_point at, std::function<void()> fn) {
  Id id;
  bool wake;
  {
    std::lock_guard<std::mutex> lk(mu_);
    id = nextId_++;
    entries_.emplace(id, std::make_pair(at, std::move(fn)));
    auto it = byTime_.emplace(at, id);
    wake = it == byTime_.begin();
  }
  if (wake) {
    cv_.notify_all();
  }
  return id;
}

void Timer::cancel(Id id) {
  if (id == 0) {
    return;
  }
  std::unique_lock<std::mutex> lk(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    auto range = byTime_.equal_range(it->second.first);
    for (auto b = range.first; b != range.second; ++b) {
      if (b->second == id) {
        byTime_.erase(b);
        break;
      }
    }
    entries_.erase(it);
    return;
  }
  if (std::this_thread::get_id() == thread_.get_id()) {
    return;
  }
  doneCv_.wait(lk, [&] { return running_ != id; });
}

void Timer::run() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    if (byTime_.empty()) {
      cv_.wait(lk);
      continue;
    }
    auto first = byTime_.begin();
    if (first->first > Clock::now()) {
      const auto when = first->first;  // a copy: cancel() may erase the entry while we wait
      cv_.wait_until(lk, when);
      continue;
    }
    Id id = first->second;
    byTime_.erase(first);
    auto node = entries_.extract(id);
    if (node.empty()) {
      continue;
    }
    running_ = id;
    lk.unlock();
    try {
      node.mapped().second();
    } catch (...) {
      // Callbacks are noexcept by contract; never let one kill the timer thread.
    }
    node.mapped().second = nullptr;  // destroy captures outside the lock
    lk.lock();
    running_ = 0;
    doneCv_.notify_all();
  }
}

}  // namespace mqb::common

#include "tests/support/direct_route.h"

#include "tests/support/wait.h"

namespace mqb::test {

ForwardingIngress::ForwardingIngress(std::vector<pipeline::Sink*> sinks,
                                     std::function<std::string(const std::string&)> rewrite,
                                     std::size_t capacity)
    : sinks_(std::move(sinks)),
      rewrite_(std::move(rewrite)),
      capacity_(capacity),
      seq_(sinks_.size(), 0) {}

bool ForwardingIngress::tryPush(std::size_t branch, pipeline::Batch& batch) noexcept {
  if (blocked_.load() || branch >= sinks_.size()) {
    return false;
  }
  if (inflight_.fetch_add(batch.size()) + batch.size() > capacity_) {
    inflight_.fetch_sub(batch.size());
    return false;
  }
  const long long delay = delayMs_.load();
  for (auto& m : batch) {
    if (delay > 0) {
      m.notBefore = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
    }
    m.seq = seq_[branch]++;  // one source per branch: no concurrent pushes per branch
    m.branch = static_cast<std::uint32_t>(branch);
    m.topic = rewrite_(m.topic);
  }
  sinks_[branch]->write(std::move(batch));
  batch.clear();
  return true;
}

DirectRoute::DirectRoute(DirectRouteOptions o) {
  std::vector<pipeline::Sink*> raw;
  for (int i = 0; i < o.branches; ++i) {
    auto target = o.target;
    if (o.branches > 1) {
      target.clientId.append("-").append(std::to_string(i + 1));
    }
    sinks_.push_back(std::make_unique<sinks::MqttSink>(target, o.sinkOptions, &metrics_.route,
                                                       &metrics_.client, o.clock));
    raw.push_back(sinks_.back().get());
  }
  auto targetTopic = o.targetTopic;
  ingress_ = std::make_unique<ForwardingIngress>(
      raw, [targetTopic](const std::string& t) { return targetTopic ? *targetTopic : t; },
      o.capacity);
  for (auto& s : sinks_) {
    s->setRelease([this](std::size_t n) { ingress_->release(n); });
  }
  for (int i = 0; i < o.branches; ++i) {
    auto source = o.source;
    auto so = o.sourceOptions;
    so.branch = static_cast<std::size_t>(i);
    if (o.branches > 1) {
      source.clientId.append("-").append(std::to_string(i + 1));
    }
    sources_.push_back(std::make_unique<sources::MqttSource>(source, so, *ingress_, &metrics_.route,
                                                             &metrics_.client));
  }
}

DirectRoute::~DirectRoute() { stop(); }

void DirectRoute::start() {
  for (auto& s : sinks_) {
    s->start();
  }
  for (auto& s : sources_) {
    s->start();
  }
}

void DirectRoute::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (auto& s : sources_) {
    s->stop();
  }
  for (auto& s : sinks_) {
    s->stop(std::chrono::milliseconds(2000));
  }
}

bool DirectRoute::waitReady(std::chrono::milliseconds timeout) const {
  return waitFor(
      [&] {
        for (const auto& s : sources_) {
          if (!s->ready()) {
            return false;
          }
        }
        for (const auto& s : sinks_) {
          if (!s->ready()) {
            return false;
          }
        }
        return true;
      },
      timeout);
}

}  // namespace mqb::test

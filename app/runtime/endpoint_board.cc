#include "app/runtime/endpoint_board.h"

#include "metrics/client_observer.h"

namespace mqb::app {
namespace {

void reportEndpoint(std::string_view connector, std::string_view side, std::size_t index,
                    const mqtt::Endpoint& e) noexcept {
  if (side != "remote") {
    return;
  }
  try {
    EndpointBoard::instance().report(connector, index, hostPort(e));
  } catch (...) {  // out of memory: the status topic misses one change
  }
}

}  // namespace

std::string hostPort(const mqtt::Endpoint& e) {
  std::string out;
  if (e.host.find(':') != std::string::npos) {
    out.append("[").append(e.host).append("]");
  } else {
    out.append(e.host);
  }
  return out.append(":").append(std::to_string(e.port));
}

EndpointBoard& EndpointBoard::instance() {
  static EndpointBoard board;
  return board;
}

void EndpointBoard::install() { metrics::setEndpointReporter(&reportEndpoint); }

void EndpointBoard::report(std::string_view connector, std::size_t index,
                           const std::string& endpoint) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = latest_.find(connector);
  if (it == latest_.end()) {
    it = latest_.emplace(std::string(connector), Entry{}).first;
  } else if (it->second.index == index && it->second.endpoint == endpoint) {
    return;
  }
  it->second = Entry{index, endpoint};
  for (auto& [id, s] : subs_) {
    if (s.connector == connector) {
      s.listener(index, endpoint);
    }
  }
}

std::uint64_t EndpointBoard::subscribe(const std::string& connector, Listener listener) {
  std::lock_guard<std::mutex> lk(mu_);
  const std::uint64_t id = next_++;
  if (auto it = latest_.find(connector); it != latest_.end()) {
    listener(it->second.index, it->second.endpoint);
  }
  subs_.emplace(id, Sub{connector, std::move(listener)});
  return id;
}

void EndpointBoard::unsubscribe(std::uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  subs_.erase(id);
}

}  // namespace mqb::app

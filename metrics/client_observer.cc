#include "metrics/client_observer.h"

#include <atomic>

namespace mqb::metrics {
namespace {

std::atomic<EndpointReporter> gReporter{nullptr};

}  // namespace

void setEndpointReporter(EndpointReporter r) noexcept {
  gReporter.store(r, std::memory_order_release);
}

ConnectFailure connectFailureOf(const mqtt::Failure& f) noexcept {
  switch (mqtt::classify(f)) {
    case mqtt::FailureClass::Refused:
      return ConnectFailure::Refused;
    case mqtt::FailureClass::NotAuthorized:
      return ConnectFailure::NotAuthorized;
    case mqtt::FailureClass::Tls:
      return ConnectFailure::Tls;
    case mqtt::FailureClass::Network:
      return ConnectFailure::Network;
    case mqtt::FailureClass::Protocol:
      return ConnectFailure::Protocol;
    case mqtt::FailureClass::Other:
      return ConnectFailure::Other;
  }
  return ConnectFailure::Other;
}

void ClientMetricsObserver::onConnectAttempt() noexcept {
  if (m_ != nullptr && m_->connectAttempts != nullptr) {
    m_->connectAttempts->Increment();
  }
}

void ClientMetricsObserver::noteFailure(const mqtt::Failure& why) noexcept {
  if (m_ == nullptr || m_->lastFailure == nullptr) {
    return;
  }
  try {
    std::string text = mqtt::reasonOf(why);
    if (const std::string detail = mqtt::detailOf(why); !detail.empty()) {
      text.append(": ").append(detail);
    }
    m_->lastFailure->set(std::move(text));
  } catch (...) {  // out of memory: the condition misses one cause
  }
}

void ClientMetricsObserver::onConnected(bool reconnect) noexcept {
  if (m_ == nullptr) {
    return;
  }
  if (m_->lastFailure != nullptr) {
    m_->lastFailure->set("");
  }
  if (m_->connected != nullptr) {
    m_->connected->Set(1);
  }
  if (reconnect && m_->reconnects != nullptr) {
    m_->reconnects->Increment();
  }
}

void ClientMetricsObserver::onConnectFailed(const mqtt::Failure& why) noexcept {
  if (m_ != nullptr) {
    m_->failure(connectFailureOf(why));
  }
  noteFailure(why);
}

void ClientMetricsObserver::onConnectionLost(const mqtt::Failure& why) noexcept {
  if (m_ == nullptr) {
    return;
  }
  if (m_->connected != nullptr) {
    m_->connected->Set(0);
  }
  if (why.cause == mqtt::Cause::AckTimeout) {
    m_->failure(ConnectFailure::AckTimeout);
  } else if (why.cause != mqtt::Cause::Reconnecting) {  // on purpose: counted by its reason
    m_->failure(ConnectFailure::Lost);
  }
  if (why.cause != mqtt::Cause::Reconnecting && why.cause != mqtt::Cause::ReturningToPrimary) {
    noteFailure(why);
  }
}

void ClientMetricsObserver::onReauthentication(std::string_view result) noexcept {
  if (m_ == nullptr) {
    return;
  }
  const std::size_t i = result == "accepted" ? 0 : result == "refused" ? 1 : 2;
  if (auto* c = m_->reauthentications[i]) {
    c->Increment();
  }
}

void ClientMetricsObserver::onCredentialsChanged(bool applied) noexcept {
  if (m_ == nullptr) {
    return;
  }
  if (auto* c = m_->credentialReloads[applied ? 0 : 1]) {
    c->Increment();
  }
}

void ClientMetricsObserver::onEndpoint(std::size_t index, const mqtt::Endpoint& e) noexcept {
  if (m_ == nullptr) {
    return;
  }
  if (m_->endpointIndex != nullptr) {
    m_->endpointIndex->Set(static_cast<double>(index));
  }
  if (auto* report = gReporter.load(std::memory_order_acquire)) {
    report(m_->connector, m_->side, index, e);
  }
}

void ClientMetricsObserver::onStopped() noexcept {
  if (m_ != nullptr && m_->connected != nullptr) {
    m_->connected->Set(0);
  }
}

}  // namespace mqb::metrics

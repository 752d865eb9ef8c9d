#include "metrics/route_metrics.h"

namespace mqb::metrics {

std::string_view toString(DropReason r) noexcept {
  switch (r) {
    case DropReason::Expired:
      return "expired";
    case DropReason::Loop:
      return "loop";
    case DropReason::Overflow:
      return "overflow";
    case DropReason::Template:
      return "template";
    case DropReason::Rejected:
      return "rejected";
    case DropReason::Qos0Disconnected:
      return "qos0_disconnected";
    case DropReason::Filtered:
      return "filtered";
    case DropReason::StageError:
      return "stage_error";
    case DropReason::Shutdown:
      return "shutdown";
    case DropReason::TooLarge:
      return "too_large";
    case DropReason::DeadLettered:
      return "dead_letter";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view toString(Adjustment a) noexcept {
  switch (a) {
    case Adjustment::QosDowngraded:
      return "qos_downgraded";
    case Adjustment::RetainStripped:
      return "retain_stripped";
    case Adjustment::kCount:
      break;
  }
  return "unknown";
}

std::string_view toString(DeadLetterReason r) noexcept {
  switch (r) {
    case DeadLetterReason::InvalidTopic:
      return "invalid_topic";
    case DeadLetterReason::InvalidProperties:
      return "invalid_properties";
    case DeadLetterReason::Refused:
      return "refused";
    case DeadLetterReason::RepeatedDisconnects:
      return "repeated_disconnects";
    case DeadLetterReason::TooLarge:
      return "too_large";
    case DeadLetterReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view toString(ConnectFailure r) noexcept {
  switch (r) {
    case ConnectFailure::Refused:
      return "refused";
    case ConnectFailure::NotAuthorized:
      return "not_authorized";
    case ConnectFailure::Tls:
      return "tls";
    case ConnectFailure::Network:
      return "network";
    case ConnectFailure::Protocol:
      return "protocol";
    case ConnectFailure::Subscribe:
      return "subscribe";
    case ConnectFailure::Lost:
      return "lost";
    case ConnectFailure::AckTimeout:
      return "ack_timeout";
    case ConnectFailure::Other:
    case ConnectFailure::kCount:
      break;
  }
  return "other";
}

}  // namespace mqb::metrics

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
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace mqb::metrics

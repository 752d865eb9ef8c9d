#include "operator/compare.h"

namespace mqb::op {

bool covers(const nlohmann::json& live, const nlohmann::json& desired) {
  if (desired.is_object()) {
    if (!live.is_object()) {
      return false;
    }
    for (const auto& [key, value] : desired.items()) {
      const auto it = live.find(key);
      if (it == live.end() || !covers(*it, value)) {
        return false;
      }
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) {
      return false;
    }
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (!covers(live[i], desired[i])) {
        return false;
      }
    }
    return true;
  }
  if (desired.is_number() && live.is_number()) {
    return desired.get<double>() == live.get<double>();
  }
  return live == desired;
}

}  // namespace mqb::op

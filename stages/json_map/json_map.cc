#include "stages/json_map/json_map.h"

namespace mqb::stages::json_map {

bool transform(const JsonMapConfig& spec, std::string& payload) {
  common::Json doc = common::Json::parse(payload, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return false;
  }
  for (const auto& r : spec.rename) {
    if (auto v = r.from.take(doc)) {
      if (!r.to.set(doc, std::move(*v))) {
        return false;
      }
    }
  }
  for (const auto& d : spec.drop) {
    d.take(doc);
  }
  for (const auto& [path, value] : spec.add) {
    if (!path.set(doc, value)) {
      return false;
    }
  }
  payload = doc.dump();
  return true;
}

void JsonMapStage::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  bool ok = false;
  try {
    ok = transform(*spec_, msg.payload);
  } catch (...) {  // nlohmann type errors, allocation failure: payload is untouched
    ok = false;
  }
  if (ok || spec_->onError == common::OnError::Pass) {
    out.emit(std::move(msg));
    return;
  }
  common::drop(msg, counters_, metrics::DropReason::StageError);
}

}  // namespace mqb::stages::json_map

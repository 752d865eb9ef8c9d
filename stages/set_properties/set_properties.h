#pragma once
// set_properties: adds, overrides or removes MQTT v5 user properties and sets the content type and
// payload format indicator, e.g. to tag every message with a site id.
//
// Applied in this order: removeUserProperties, then userProperties (each entry in order), then
// contentType and payloadFormat.
//  * mode set (default): the property ends up exactly once with the value; an existing one is
//    updated in place (later duplicates of that name are removed), else it is appended.
//  * mode add: appended, even if the name is already present (v5 allows duplicates).
// payloadFormat utf8 declares the payload UTF-8 text; a payload that is not well-formed UTF-8 is
// then an error: onError drop settles it Dropped and counts StageError, onError pass forwards the
// message unchanged (none of the changes applied).
// The bridge's own hop marker property is added by the sink after this stage runs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/stage.h"
#include "stages/common/drop.h"

namespace mqb::stages::set_properties {

enum class Mode : std::uint8_t { Set, Add };

struct PropertyEdit {
  std::string name;
  std::string value;
  Mode mode = Mode::Set;
};

/// Immutable parameters (shared by every branch of a route).
struct SetPropertiesConfig {
  std::vector<std::string> remove;
  std::vector<PropertyEdit> edits;
  std::optional<std::string> contentType;
  std::optional<std::uint8_t> payloadFormat;  ///< 0 bytes, 1 UTF-8
  common::OnError onError = common::OnError::Drop;
};

/// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool isUtf8(std::string_view s) noexcept;

/// Applies the changes to `props`.
void apply(const SetPropertiesConfig& spec, pipeline::Properties& props);

class SetPropertiesStage final : public pipeline::Stage {
 public:
  SetPropertiesStage(std::shared_ptr<const SetPropertiesConfig> spec,
                     const pipeline::StageContext& ctx)
      : spec_(std::move(spec)), counters_(ctx.counters) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

 private:
  std::shared_ptr<const SetPropertiesConfig> spec_;
  pipeline::StageCounters* counters_;
};

}  // namespace mqb::stages::set_properties

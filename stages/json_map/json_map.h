#pragma once
// json_map: reshapes a JSON object payload: renames (moves) fields, drops fields, adds constant
// fields. Applied in this order: every rename, then every drop, then every add (each list in
// order). Renaming or dropping a missing field does nothing; add overrides an existing value and
// creates missing intermediate objects. The output is compact JSON with the input's key order.
// Errors: a payload that is not a JSON object, or a path that runs through a non-object value
// (e.g. add "a.b" when "a" is a number). onError drop settles the message Dropped and counts
// StageError; onError pass forwards it unchanged.

#include <string>
#include <utility>
#include <vector>

#include "pipeline/stage.h"
#include "stages/common/drop.h"
#include "stages/common/json_path.h"

namespace mqb::stages::json_map {

struct Rename {
  common::JsonPath from;
  common::JsonPath to;
};

/// Immutable parameters (shared by every branch of a route).
struct JsonMapConfig {
  std::vector<Rename> rename;
  std::vector<common::JsonPath> drop;
  std::vector<std::pair<common::JsonPath, common::Json>> add;
  common::OnError onError = common::OnError::Drop;
};

/// Transforms `payload` in place. Returns false (payload unchanged) on error.
bool transform(const JsonMapConfig& spec, std::string& payload);

class JsonMapStage final : public pipeline::Stage {
 public:
  JsonMapStage(std::shared_ptr<const JsonMapConfig> spec, const pipeline::StageContext& ctx)
      : spec_(std::move(spec)), counters_(ctx.counters) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

 private:
  std::shared_ptr<const JsonMapConfig> spec_;
  pipeline::StageCounters* counters_;
};

}  // namespace mqb::stages::json_map

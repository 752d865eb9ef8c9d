#pragma once
// filter: forwards or drops each message by its topic, a v5 user property and/or a JSON field.
//
// A message *matches* when every condition given matches:
//  * topics: the topic matches at least one of the MQTT topic filters;
//  * userProperty: a user property with that name exists (and, if `value` is given, at least one
//    with that name has exactly that value);
//  * json: the payload is a JSON document and the field compares true. A missing field never
//    matches (whatever the operator, `!=` included). ==/!= compare JSON values (1 == 1.0); the
//    ordering operators compare two numbers numerically or two strings bytewise, anything else
//    does not match.
// Conditions are evaluated in that order and stop at the first that does not match, so a non-JSON
// payload is only an error when the topic and property conditions matched.
// action keep: forward what matches, drop (Filtered) the rest. action drop: the opposite.
// A payload that is not JSON while a json condition must be evaluated is an error: onError drop
// settles it Dropped and counts StageError; onError pass forwards it unchanged.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/stage.h"
#include "stages/common/drop.h"
#include "stages/common/json_path.h"

namespace mqb::stages::filter {

enum class Action : std::uint8_t { Keep, Drop };
enum class Op : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge, Exists };

struct PropertyCondition {
  std::string name;
  std::optional<std::string> value;  ///< absent: the property only has to exist
};

struct JsonCondition {
  common::JsonPath field;
  Op op = Op::Exists;
  nlohmann::json value;  ///< unused for Exists
};

/// Immutable parameters (shared by every branch of a route).
struct FilterConfig {
  Action action = Action::Keep;
  std::vector<std::string> topics;  ///< valid topic filters; empty = no topic condition
  std::optional<PropertyCondition> userProperty;
  std::optional<JsonCondition> json;
  common::OnError onError = common::OnError::Drop;
};

enum class Match : std::uint8_t { Yes, No, Error };

/// Evaluates the conditions on `msg` (see the header comment). Never throws.
Match evaluate(const FilterConfig& spec, const pipeline::Message& msg) noexcept;

/// True if `actual` compares true with `expected` under `op` (Exists: always true).
bool compare(const nlohmann::json& actual, Op op, const nlohmann::json& expected) noexcept;

class FilterStage final : public pipeline::Stage {
 public:
  FilterStage(std::shared_ptr<const FilterConfig> spec, const pipeline::StageContext& ctx)
      : spec_(std::move(spec)), counters_(ctx.counters) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

 private:
  std::shared_ptr<const FilterConfig> spec_;
  pipeline::StageCounters* counters_;
};

}  // namespace mqb::stages::filter

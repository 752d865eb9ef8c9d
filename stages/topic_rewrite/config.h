#pragma once
// topic_rewrite: parameters and factory.
//
//   - type: topic_rewrite
//     target: "factory/{1}/{2-#}"   # optional; omitted = keep the message's topic
//
// Implicit on every route (the graph builder prepends it with the route's `target`).

#include <memory>
#include <optional>
#include <string>

#include "pipeline/stage.h"
#include "stages/topic_rewrite/topic_rewrite.h"

namespace mqb::stages::topic_rewrite {

struct Config final : pipeline::StageConfig {
  std::shared_ptr<const Settings> settings;
};

pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::topic_rewrite

#pragma once
// topic_rewrite: configuration (YAML parameters, validation) and registration.
// Logic: topic_rewrite.h.
//
//   - type: topic_rewrite
//     target: "factory/{1}/{2-#}"   # optional; omitted = keep the message's topic
//
// Every route runs one with the route's `target` first (config::stageChain).

#include "pipeline/stage_factory.h"
#include "stages/topic_rewrite/topic_rewrite.h"

namespace mqb::stages::topic_rewrite {

class TopicRewriteFactory final
    : public pipeline::TypedStageFactory<TopicRewriteConfig, TopicRewriteStage> {
 public:
  std::string_view type() const noexcept override { return "topic_rewrite"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, TopicRewriteConfig& config) const override;
};

/// Registers the `topic_rewrite` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::topic_rewrite

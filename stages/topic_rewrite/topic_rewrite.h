#pragma once
// topic_rewrite: the spec's target rules plus level templates (extension).
//
//   target omitted      -> the message keeps its own topic (not the route's filter)
//   target "a/b"        -> static topic
//   target with {...}   -> template over the levels of the message's topic, e.g. "f/{1}/{3-#}"
//                          (the syntax, with {{ and }} for literal braces: config/topic_template.h)
// Templates are compiled once; resolving one is a single pass with no parsing.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/log.h"
#include "config/topic_template.h"
#include "pipeline/stage.h"

namespace mqb::stages::topic_rewrite {

/// A compiled target template and its parser: config's (config/topic_template.h), the one that
/// also validates a route's `target`.
using Template = config::topic::Template;
using config::topic::parseTemplate;

/// Immutable parameters (shared by every branch of a route): no target (keep the topic) or a
/// compiled template.
struct TopicRewriteConfig {
  std::optional<Template> target;
};

/// The per-branch stage.
class TopicRewriteStage final : public pipeline::Stage {
 public:
  TopicRewriteStage(std::shared_ptr<const TopicRewriteConfig> config,
                    const pipeline::StageContext& ctx);
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

  std::uint64_t unresolved() const noexcept { return unresolved_; }

 private:
  std::shared_ptr<const TopicRewriteConfig> config_;
  pipeline::StageContext ctx_;
  std::string scratch_;
  std::uint64_t unresolved_ = 0;
  log::Every logEvery_{std::chrono::seconds(10)};
};

}  // namespace mqb::stages::topic_rewrite

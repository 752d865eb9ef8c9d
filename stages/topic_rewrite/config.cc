#include "stages/topic_rewrite/config.h"

namespace mqb::stages::topic_rewrite {

std::string_view TopicRewriteFactory::description() const noexcept {
  return "Sets the outgoing topic: a static target, the message's own topic, or a template "
         "over its levels ({1}, {2-3}, {2-#}, {#}).";
}

void TopicRewriteFactory::read(pipeline::StageParams& p, TopicRewriteConfig& config) const {
  if (auto target = p.str("target")) {
    config.target =
        config::topic::compileTarget(*target, p.at("target"), p.pathOf("target"), p.diag());
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<TopicRewriteFactory>(); }

}  // namespace mqb::stages::topic_rewrite

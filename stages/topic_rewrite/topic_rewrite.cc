#include "stages/topic_rewrite/topic_rewrite.h"

namespace mqb::stages::topic_rewrite {

TopicRewriteStage::TopicRewriteStage(std::shared_ptr<const TopicRewriteConfig> config,
                                     const pipeline::StageContext& ctx)
    : config_(std::move(config)), ctx_(ctx) {}

void TopicRewriteStage::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  const std::optional<Template>& target = config_->target;
  if (!target) {
    out.emit(std::move(msg));
    return;
  }
  if (target->isStatic()) {
    msg.topic = target->parts()[0].literal;  // reuses the topic's capacity when it fits
    out.emit(std::move(msg));
    return;
  }
  try {
    if (target->resolve(msg.topic, scratch_)) {
      msg.topic.swap(scratch_);
      out.emit(std::move(msg));
      return;
    }
  } catch (...) {  // allocation failure: treat like an unresolvable template
  }
  ++unresolved_;
  if (ctx_.counters != nullptr) {
    ctx_.counters->drop(metrics::DropReason::Template);
  }
  std::uint64_t suppressed = 0;
  if (logEvery_.allow(&suppressed)) {
    try {
      log::warn("template_unresolved", {{"route", std::string(ctx_.route)},
                                        {"branch", ctx_.branch},
                                        {"target", target->text()},
                                        {"topic", msg.topic},
                                        {"suppressed", suppressed}});
    } catch (...) {  // building the fields can only fail to allocate; the counter still counts
    }
  }
  msg.completion.settle(pipeline::Outcome::Dropped);
}

}  // namespace mqb::stages::topic_rewrite

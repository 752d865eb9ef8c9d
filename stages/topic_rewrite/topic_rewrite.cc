#include "stages/topic_rewrite/topic_rewrite.h"

namespace mqb::stages::topic_rewrite {

TopicRewrite::TopicRewrite(std::shared_ptr<const Settings> settings,
                           const pipeline::StageContext& ctx)
    : settings_(std::move(settings)), ctx_(ctx) {}

void TopicRewrite::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  const std::optional<Template>& target = settings_->target;
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
  if (ctx_.metrics != nullptr) {
    ctx_.metrics->drop(metrics::DropReason::Template);
  }
  std::uint64_t suppressed = 0;
  if (logEvery_.allow(&suppressed)) {
    try {
      log::warn("template_unresolved",
                {{"route", ctx_.route != nullptr ? ctx_.route->name : std::string()},
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

#include "stages/builtin.h"

// One line per built-in stage: X(<type>), where stages/<type>/config.cc defines
// mqb::stages::<type>::makeFactory().
#define MQB_BUILTIN_STAGES(X) \
  X(topic_rewrite)            \
  X(qos)                      \
  X(rate_limit)

#define MQB_DECLARE_STAGE_FACTORY(NAME)    \
  namespace NAME {                         \
  pipeline::StageFactoryPtr makeFactory(); \
  }
#define MQB_REGISTER_STAGE(NAME) registry.add(NAME::makeFactory());

namespace mqb::stages {

MQB_BUILTIN_STAGES(MQB_DECLARE_STAGE_FACTORY)

void registerBuiltinStages(pipeline::Registry& registry) { MQB_BUILTIN_STAGES(MQB_REGISTER_STAGE) }

}  // namespace mqb::stages

namespace mqb::pipeline {

Registry& Registry::builtin() {
  static Registry r = [] {
    Registry reg;
    stages::registerBuiltinStages(reg);
    return reg;
  }();
  return r;
}

}  // namespace mqb::pipeline

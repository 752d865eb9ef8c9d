#pragma once
// Explicit registration of every built-in stage (no static initializers).
//
// Each stage folder stages/<type>/ defines, in its config.cc,
//
//   namespace mqb::stages::<type> { pipeline::StageFactoryPtr makeFactory(); }
//
// and stages/builtin.cc lists the folder once in MQB_BUILTIN_STAGES (one line per stage).

#include "pipeline/registry.h"

namespace mqb::stages {

/// Adds every built-in stage factory to `registry`. Throws std::logic_error if one of their
/// types is already registered.
void registerBuiltinStages(pipeline::Registry& registry);

}  // namespace mqb::stages

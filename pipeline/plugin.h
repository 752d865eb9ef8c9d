#pragma once
// Out-of-tree stage plugins: a shared library (CMake MODULE) that mqbridge loads by path with
// dlopen and that registers stage factories, exactly like the built-in stages do.
//
// Writing one (see docs/extending.md for the whole walk-through):
//
//   #include "pipeline/plugin.h"
//   class MyFactory final : public mqb::pipeline::TypedStageFactory<MyConfig, MyStage> { ... };
//   MQB_DEFINE_STAGE_PLUGIN(MyFactory)           // one or more factory classes
//
// The entry points (C linkage, so their names are stable):
//   int mqbridge_stage_plugin_abi_version(void);
//       returns MQB_STAGE_PLUGIN_ABI_VERSION as the plugin saw it when it was compiled; the loader
//       refuses a plugin whose version differs from its own, naming the file and both versions.
//   int mqbridge_stage_plugin_v1(mqb::pipeline::PluginHost* host);
//       registers the plugin's factories through `host`; returns 0 on success. Called once, on
//       the loading thread, after the version check. Must not throw.
//
// ABI rules: the stage API is C++ (virtual classes, std::string, std::vector...), so a plugin must
// be compiled against the headers of the mqbridge it is loaded into (the installed package, see
// `find_package(mqbridge)`) with the same compiler family and standard library. The version number
// changes whenever a public header changes incompatibly. The public headers (pipeline/stage.h,
// pipeline/stage_factory.h, this one and what they include) need neither yaml-cpp nor
// prometheus: parameters arrive through config::Params, counters through StageCounters. The
// plugin links only the `mqbridge::stage_api` target: symbols such as config::Diagnostics's are
// resolved from the mqbridge executable (which exports them) when the plugin is loaded. A plugin
// stays loaded until the process exits.

#include <memory>
#include <utility>

#include "pipeline/stage_factory.h"

/// Version of the stage plugin ABI these headers describe.
#define MQB_STAGE_PLUGIN_ABI_VERSION 3

namespace mqb::pipeline {

/// What the loader offers a plugin while it registers. Valid only during the entry point call.
class PluginHost {
 public:
  /// The loader's MQB_STAGE_PLUGIN_ABI_VERSION.
  virtual int abiVersion() const noexcept = 0;
  /// Offers a factory. Returns false if it cannot be registered (null, or its `type` is already
  /// known); the loader then fails the whole plugin and registers none of its factories.
  virtual bool addStage(StageFactoryPtr factory) noexcept = 0;

 protected:
  ~PluginHost() = default;
};

namespace detail {
/// Body of the entry point defined by MQB_DEFINE_STAGE_PLUGIN.
template <typename... Factories>
int registerPluginFactories(PluginHost* host) noexcept {
  if (host == nullptr) {
    return 1;
  }
  try {
    return (host->addStage(std::make_unique<Factories>()) && ...) ? 0 : 2;
  } catch (...) {
    return 3;
  }
}
}  // namespace detail

}  // namespace mqb::pipeline

extern "C" {
using mqbridge_stage_plugin_abi_version_fn = int (*)();
using mqbridge_stage_plugin_v1_fn = int (*)(mqb::pipeline::PluginHost* host);
}

/// Symbol names the loader looks up.
#define MQB_STAGE_PLUGIN_VERSION_SYMBOL "mqbridge_stage_plugin_abi_version"
#define MQB_STAGE_PLUGIN_ENTRY_SYMBOL "mqbridge_stage_plugin_v1"

/// Defines both entry points of a plugin that registers the given StageFactory classes (each
/// default-constructible). Use once per plugin, at namespace scope, in one source file.
#define MQB_DEFINE_STAGE_PLUGIN(...)                                                          \
  extern "C" __attribute__((visibility("default"))) int mqbridge_stage_plugin_abi_version() { \
    return MQB_STAGE_PLUGIN_ABI_VERSION;                                                      \
  }                                                                                           \
  extern "C" __attribute__((visibility("default"))) int mqbridge_stage_plugin_v1(             \
      ::mqb::pipeline::PluginHost* host) {                                                    \
    return ::mqb::pipeline::detail::registerPluginFactories<__VA_ARGS__>(host);               \
  }

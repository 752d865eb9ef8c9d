// A plugin built for the previous stage plugin ABI: the loader must refuse it before calling it,
// naming the file and both versions.
#include "pipeline/plugin.h"

extern "C" __attribute__((visibility("default"))) int mqbridge_stage_plugin_abi_version() {
  return MQB_STAGE_PLUGIN_ABI_VERSION - 1;
}
extern "C" __attribute__((visibility("default"))) int mqbridge_stage_plugin_v1(
    mqb::pipeline::PluginHost*) {
  __builtin_trap();  // must never be called
}

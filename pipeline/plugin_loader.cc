#include "pipeline/plugin_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <set>

#include "pipeline/plugin.h"

namespace mqb::pipeline {
namespace {

/// Collects the plugin's factories; they reach the registry only if the whole plugin succeeds.
class CollectingHost final : public PluginHost {
 public:
  explicit CollectingHost(const Registry& registry) : registry_(registry) {}
  int abiVersion() const noexcept override { return MQB_STAGE_PLUGIN_ABI_VERSION; }
  bool addStage(StageFactoryPtr factory) noexcept override {
    try {
      if (!factory) {
        problem_ = "registered a null stage factory";
        return false;
      }
      std::string type(factory->type());
      if (registry_.find(type) != nullptr || !seen_.insert(type).second) {
        problem_ = "stage type \"" + type + "\" is already registered";
        return false;
      }
      factories_.push_back(std::move(factory));
      return true;
    } catch (...) {
      problem_ = "out of memory while registering";
      return false;
    }
  }
  std::vector<StageFactoryPtr>& factories() noexcept { return factories_; }
  const std::string& problem() const noexcept { return problem_; }

 private:
  const Registry& registry_;
  std::set<std::string> seen_;
  std::vector<StageFactoryPtr> factories_;
  std::string problem_;
};

struct Handle {
  void* h = nullptr;
  ~Handle() {
    if (h != nullptr) {
      dlclose(h);
    }
  }
};

}  // namespace

std::optional<LoadedPlugin> loadStagePlugin(const std::string& path, Registry& registry,
                                            std::string& error) {
  const std::string prefix = "stage plugin \"" + path + "\": ";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = prefix + (std::filesystem::exists(path, ec) ? "not a regular file" : "file not found");
    return std::nullopt;
  }
  const std::string openPath = path.find('/') == std::string::npos ? "./" + path : path;
  Handle lib;
  lib.h = dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib.h == nullptr) {
    const char* why = dlerror();
    error = prefix + "cannot load: " + (why != nullptr ? why : "unknown dlopen error");
    return std::nullopt;
  }
  auto version = reinterpret_cast<mqbridge_stage_plugin_abi_version_fn>(
      dlsym(lib.h, MQB_STAGE_PLUGIN_VERSION_SYMBOL));
  if (version == nullptr) {
    error = prefix + "not an mqbridge stage plugin: no symbol " MQB_STAGE_PLUGIN_VERSION_SYMBOL
                     " (define the entry points with MQB_DEFINE_STAGE_PLUGIN)";
    return std::nullopt;
  }
  const int pluginVersion = version();
  if (pluginVersion != MQB_STAGE_PLUGIN_ABI_VERSION) {
    error = prefix + "built for stage plugin ABI version " + std::to_string(pluginVersion) +
            ", this mqbridge supports version " + std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION) +
            "; rebuild the plugin against this mqbridge's installed headers";
    return std::nullopt;
  }
  auto entry =
      reinterpret_cast<mqbridge_stage_plugin_v1_fn>(dlsym(lib.h, MQB_STAGE_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    error = prefix + "not an mqbridge stage plugin: no symbol " MQB_STAGE_PLUGIN_ENTRY_SYMBOL
                     " (define the entry points with MQB_DEFINE_STAGE_PLUGIN)";
    return std::nullopt;
  }
  LoadedPlugin loaded;
  loaded.path = path;
  {
    CollectingHost host(registry);
    const int rc = entry(&host);
    if (rc != 0 || !host.problem().empty()) {
      error =
          prefix + "registration failed: " +
          (host.problem().empty() ? MQB_STAGE_PLUGIN_ENTRY_SYMBOL " returned " + std::to_string(rc)
                                  : host.problem());
      return std::nullopt;  // the collected factories die before the library is closed
    }
    if (host.factories().empty()) {
      error = prefix + "registration failed: the plugin registered no stage type";
      return std::nullopt;
    }
    for (auto& f : host.factories()) {
      loaded.types.emplace_back(f->type());
      registry.add(std::move(f));
    }
  }
  lib.h = nullptr;  // its factories live in the registry now: keep the code loaded for good
  return loaded;
}

}  // namespace mqb::pipeline

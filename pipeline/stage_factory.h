#pragma once
// The stage factory side: how a configured stage's parameters are validated and how its stages
// are created. Part of the stage plugin ABI, like pipeline/stage.h, and like it free of yaml-cpp
// and prometheus: parameters arrive as a config::Params view (config/params.h), whose errors
// carry file:line:column and the YAML path.
//
// A built-in stage derives TypedStageFactory<Config, StageT>; a plugin may too, or implement
// StageFactory directly.

#include <memory>
#include <string>
#include <string_view>

#include "config/params.h"
#include "pipeline/stage.h"

namespace mqb::pipeline {

/// A stage's parameters: the view of its whole YAML mapping (including `type`).
using StageParams = config::Params;

/// Immutable, validated parameters of one configured stage; shared by all branches of a route.
class StageConfig {
 public:
  virtual ~StageConfig() = default;
};
using StageConfigPtr = std::shared_ptr<const StageConfig>;

/// Builds stages of one `type`. Registered in a Registry (pipeline/registry.h).
class StageFactory {
 public:
  virtual ~StageFactory() = default;
  /// The YAML `type`, snake_case, e.g. "rate_limit".
  virtual std::string_view type() const noexcept = 0;
  /// One sentence for `--help`, docs and `validate` output.
  virtual std::string_view description() const noexcept = 0;
  /// Validates parameters: report every problem through `params` (so errors carry
  /// file:line:column) and return null if there was any error.
  virtual StageConfigPtr parse(StageParams& params) const = 0;
  /// Creates a stage for one branch. Must not throw for a config this factory parsed.
  virtual StagePtr create(const StageConfigPtr& cfg, const StageContext& ctx) const = 0;
};
using StageFactoryPtr = std::unique_ptr<StageFactory>;

/// The one shape of a built-in stage's factory. `Config` is the stage's parameters (a plain,
/// default-constructible struct); `StageT` is constructible from
/// (std::shared_ptr<const Config>, const StageContext&). The derived factory names the type,
/// describes it and reads the parameters into a Config; parse() accepts `type`, reports unknown
/// keys and returns null if `read` reported any error.
template <class Config, class StageT>
class TypedStageFactory : public StageFactory {
 public:
  StageConfigPtr parse(StageParams& params) const final {
    const std::size_t before = params.diag().errorCount();
    if (!params.ok()) {
      return nullptr;
    }
    params.allow({"type"});
    auto holder = std::make_shared<Holder>();
    read(params, holder->config);
    params.finish();
    return params.diag().errorCount() == before ? holder : nullptr;
  }
  StagePtr create(const StageConfigPtr& cfg, const StageContext& ctx) const final {
    const auto& holder = static_cast<const Holder&>(*cfg);
    return std::make_unique<StageT>(std::shared_ptr<const Config>(cfg, &holder.config), ctx);
  }

 protected:
  /// Reads every parameter except `type` into `config`, reporting problems through `params`.
  virtual void read(StageParams& params, Config& config) const = 0;

 private:
  struct Holder final : StageConfig {
    Config config;
  };
};

}  // namespace mqb::pipeline

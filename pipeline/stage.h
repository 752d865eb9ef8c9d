#pragma once
// The stage API: what a built-in or custom transform implements.
//
// Contract for every Stage:
//  * Ownership: process() receives the message by rvalue and owns it. To forward it, move it (or
//    forks of it, see Message::fork) into `out.emit()`. Whatever is not emitted is destroyed when
//    process() returns.
//  * Emit nothing = the message is not forwarded. A stage that drops a message on purpose settles
//    its completion with Outcome::Filtered (or Dropped for an error) and counts it with a reason
//    (ctx.metrics->drop(...)); an unsettled message that is destroyed settles as Filtered.
//  * Emit several = fan-out: the extra messages are `msg.fork()`s that share the completion.
//  * Never throw: process() is noexcept. An exception escaping a oneTBB flow-graph body cancels the
//    whole route graph; the graph builder also wraps calls, but stages must not rely on it.
//  * Never block: no sleeping, no I/O waits. rate_limit delays by stamping Message::notBefore.
//  * Thread-safety: a stage instance belongs to one branch of one route and is called by one
//    thread at a time (serial); it need not lock its own state. The immutable config object
//    it was built from may be shared between branches.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/diagnostics.h"
#include "config/model.h"
#include "metrics/route_metrics.h"
#include "pipeline/clock.h"
#include "pipeline/message.h"

namespace mqb::pipeline {

/// Where a stage sends its output. Implemented by the graph builder and by tests.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void emit(Message&& msg) noexcept = 0;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual void process(Message&& msg, Emitter& out) noexcept = 0;
};
using StagePtr = std::unique_ptr<Stage>;

/// What a stage may know about the route it runs in. Outlives the stage.
struct StageContext {
  const config::ConnectorSpec* connector = nullptr;
  const config::RouteSpec* route = nullptr;
  std::uint32_t branch = 0;  ///< shared-subscription branch index
  const Clock* clock = &SystemClock::instance();
  metrics::RouteMetrics* metrics = nullptr;  ///< may be null in unit tests
};

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
  /// Validates parameters. `params` is the stage's whole mapping (including `type`); report every
  /// problem into `diag` with config::Fields (so errors carry file:line:column) and return null
  /// if there was any error.
  virtual StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                               const std::string& path, config::Diagnostics& diag) const = 0;
  /// Creates a stage for one branch. Must not throw for a config this factory parsed.
  virtual StagePtr create(const StageConfigPtr& cfg, const StageContext& ctx) const = 0;
};
using StageFactoryPtr = std::unique_ptr<StageFactory>;

}  // namespace mqb::pipeline

#pragma once
// Stage registry: maps a YAML `type` to its factory. Built-in stages and custom (in-tree or
// dlopen-loaded) stages register the same way.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"
#include "pipeline/stage_factory.h"

namespace mqb::pipeline {

/// One configured stage of a route after validation.
struct ConfiguredStage {
  const StageFactory* factory = nullptr;  ///< null if validation failed
  StageConfigPtr config;
  std::string type;
  std::string path;  ///< YAML path, for logs
};

class Registry {
 public:
  /// The process-wide registry with every built-in stage (stages/builtin.cc) registered.
  static Registry& builtin();

  /// Registers a factory. A duplicate type throws std::logic_error (a programming error).
  void add(StageFactoryPtr factory);
  /// nullptr if unknown.
  const StageFactory* find(std::string_view type) const noexcept;
  /// Sorted list of known types (for "unknown type" diagnostics and `--help`).
  std::vector<std::string> types() const;

  /// Validates stages (a route's whole chain, config::stageChain, or only its own
  /// route.stages); unknown types are reported with the list of known types. Returns the
  /// configured stages (empty entries for failures) in order.
  std::vector<ConfiguredStage> parseStages(const std::vector<config::StageSpec>& stages,
                                           config::Diagnostics& diag) const;
  /// Validates one stage. On failure (unknown type or bad parameters) the result has a null
  /// factory and config, and `diag` holds the errors; a problem with no position of its own (a
  /// parameter the plan added) is reported at the stage's location.
  ConfiguredStage parseStage(const config::StageSpec& spec, config::Diagnostics& diag) const;
  /// `unknown stage type "x" (did you mean "y"?); known types: a, b, c`.
  std::string unknownTypeMessage(std::string_view type) const;

 private:
  std::map<std::string, StageFactoryPtr, std::less<>> factories_;
};

}  // namespace mqb::pipeline

#pragma once
// Per-site values (extension): `${env:NAME}` references in a connector's `clientIdPrefix` and in a
// route's `source` and `target`, replaced by the value of environment variable NAME when the
// configuration is loaded, so that one set of resources serves pods that differ by name
// (POD_NAME, POD_NAMESPACE from the downward API).
//
//   clientIdPrefix: "${env:POD_NAMESPACE}-"       -> "factory-a-"
//   source: "sites/${env:SITE}/telemetry/#"       -> "sites/berlin/telemetry/#"
//   "$${"                                         -> a literal "${"
//
// NAME is a letter or '_' followed by letters, digits and '_'. Every other use of "${" is an
// error, as is a variable that is not set; a variable set to "" expands to "". The expanded
// value is then validated as if it had been written literally.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "config/model.h"

namespace mqb::config {

/// The value of an environment variable, nullopt if it is not set.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment (getenv).
Environment processEnvironment();

/// True if `value` holds "${", which expandEnv() replaces or rejects.
bool hasEnvReference(std::string_view value) noexcept;

/// `value` with every reference replaced. On failure returns nullopt and sets `error` to a
/// one-line explanation naming the reference and its column in `value` (1-based).
std::optional<std::string> expandEnv(std::string_view value, const Environment& env,
                                     std::string& error);

namespace detail {

/// Expands the references of every connector's clientIdPrefix and every route's source and
/// target in `config`, then validates the expanded values as the readers validate literals.
/// Errors name the field's file, line, column and YAML path. Values without "${" are left
/// alone (the readers validated them).
void expandEnvReferences(BridgeConfig& config, const Environment& env, Diagnostics& diag);

}  // namespace detail
}  // namespace mqb::config

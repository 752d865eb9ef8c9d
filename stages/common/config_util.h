#pragma once
// Config-side helpers shared by the transform stages' factories.

#include <optional>
#include <string_view>

#include "config/params.h"
#include "stages/common/drop.h"
#include "stages/common/json_path.h"

namespace mqb::stages::common {

/// Reads `onError: drop | pass` (default drop).
std::optional<OnError> readOnError(config::Params& p);

/// Reads a field path (JSON pointer or dotted path, see json_path.h); errors go to `p`'s
/// diagnostics at the key's location.
std::optional<JsonPath> readJsonPath(config::Params& p, std::string_view key, bool required);

/// A field path written as the value `v` itself (a mapping key or a list item); errors at `v`.
std::optional<JsonPath> jsonPathAt(const config::Params& v);

/// Converts a configuration value to JSON: plain scalars become null, booleans, integers or
/// numbers when they read as such (YAML 1.2 core schema), quoted scalars are always strings.
Json toJson(config::Params& v);

}  // namespace mqb::stages::common

#pragma once
// Config-side helpers shared by the transform stages' factories.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "config/fields.h"
#include "stages/common/drop.h"
#include "stages/common/json_path.h"

namespace mqb::stages::common {

/// Reads `onError: drop | pass` (default drop).
std::optional<OnError> readOnError(config::Fields& f);

/// Reads a field path (JSON pointer or dotted path, see json_path.h); errors go to `f`'s
/// diagnostics at the key's location.
std::optional<JsonPath> readJsonPath(config::Fields& f, std::string_view key, bool required);

/// Converts a YAML value to JSON: plain scalars become null, booleans, integers or numbers when
/// they read as such (YAML 1.2 core schema), quoted scalars are always strings.
Json yamlToJson(const YAML::Node& node);

}  // namespace mqb::stages::common

#pragma once
// Strict, diagnostics-collecting reader for one YAML mapping. Used by the resource loader and by
// every stage factory, so that a stage parameter error reads exactly like a resource error:
//
//   topicmap.yaml:12:9: error: spec.routes[0].stages[1].maxMessagesPerSecond: must be > 0, got -5

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"

namespace mqb::config {

/// Location of a yaml-cpp node (yaml-cpp marks are 0-based; ours are 1-based).
Location locationOf(const YAML::Node& node, const std::string& file);

/// The closest candidate by edit distance, or "" if none is close enough.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

/// Reads fields of one mapping node. Every accessor records the key as known; `finish()` reports
/// the keys nobody asked for as unknown fields, with the nearest valid name.
/// Accessors never throw: a wrong type or value is recorded in `diag` and yields std::nullopt.
class Fields {
 public:
  Fields(const YAML::Node& map, std::string file, std::string path, Diagnostics& diag);

  bool ok() const noexcept { return isMap_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& file() const noexcept { return file_; }
  Diagnostics& diag() const noexcept { return diag_; }
  Location location() const;
  /// Location of key's value if present, else of the mapping itself.
  Location at(std::string_view key) const;
  std::string pathOf(std::string_view key) const;
  bool has(std::string_view key) const;
  /// The raw node of a key (marks the key as known). Null node if absent.
  YAML::Node node(std::string_view key);

  std::optional<std::string> str(std::string_view key, bool required = false);
  std::optional<bool> boolean(std::string_view key, bool required = false);
  std::optional<std::int64_t> integer(std::string_view key, bool required = false,
                                      std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  /// A number > `exclusiveMin` (use for rates); accepts integers and decimals.
  std::optional<double> number(std::string_view key, bool required = false,
                               double exclusiveMin = -1e300);
  std::optional<std::string> enumeration(std::string_view key,
                                         const std::vector<std::string>& allowed,
                                         bool required = false);
  /// A mapping child; returns a null node (and records an error) when present but not a map.
  YAML::Node mapping(std::string_view key, bool required = false);
  YAML::Node sequence(std::string_view key, bool required = false);
  /// A list of strings.
  std::optional<std::vector<std::string>> strings(std::string_view key, bool required = false);

  /// Marks keys as known without reading them.
  void allow(std::initializer_list<std::string_view> keys);
  /// Reports unknown keys. Call once, after all accessors.
  void finish();

  void error(std::string_view key, std::string message) const;
  void warning(std::string_view key, std::string message) const;

 private:
  YAML::Node get(std::string_view key, bool required, const char* expected);

  YAML::Node map_;
  std::string file_;
  std::string path_;
  Diagnostics& diag_;
  bool isMap_ = false;
  std::set<std::string, std::less<>> known_;
};

}  // namespace mqb::config

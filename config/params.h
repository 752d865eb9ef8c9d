#pragma once
// A view of one value of a configuration file (a stage's parameters, or a value inside them)
// that does not expose the YAML library: the part of the configuration reader that stage
// factories, built-in and plugin alike, use. config/yaml_params.h implements it over yaml-cpp
// with config::Fields, so a parameter error reads exactly like a resource error:
//
//   topicmap.yaml:12:9: error: spec.routes[0].stages[1].value: expected a string, got a list
//
// Contract: accessors never throw on a bad configuration; a missing required field, a wrong type
// or a value out of range is reported into diag() (file:line:column, YAML path, message) and
// yields std::nullopt or a null view. The mapping accessors record every key they are asked for;
// finish() reports the keys nobody asked for as unknown fields, with the nearest known name.
// A view is used by one thread, during one parse.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.h"

namespace mqb::config {

class Params;
using ParamsPtr = std::unique_ptr<Params>;

class Params {
 public:
  enum class Kind { Null, Scalar, List, Mapping };

  virtual ~Params() = default;

  // --- Any value ---------------------------------------------------------------------------
  virtual Kind kind() const = 0;
  /// YAML path of this value, e.g. "spec.routes[0].stages[1].json".
  virtual const std::string& path() const = 0;
  /// Where this value is written (line 0 when it was not read from a file).
  virtual Location location() const = 0;
  /// Where problems are reported.
  virtual Diagnostics& diag() const = 0;
  /// Reports a problem with this value itself (at location(), under path()).
  virtual void fail(std::string message) const = 0;

  // --- Scalars -----------------------------------------------------------------------------
  /// The text of a scalar ("" for other kinds).
  virtual const std::string& scalar() const = 0;
  /// True for a quoted scalar ("30" is the string 30; 30 may be read as a number).
  virtual bool quoted() const = 0;

  // --- Lists -------------------------------------------------------------------------------
  /// Number of items of a list (0 for other kinds).
  virtual std::size_t size() const = 0;
  /// Item `i` of a list (path "<path>[i]"); null if out of range.
  virtual ParamsPtr item(std::size_t i) const = 0;

  // --- Mappings ----------------------------------------------------------------------------
  /// False (and a problem reported) if this value, read as a mapping, is not one.
  virtual bool ok() = 0;
  /// Every entry, in file order, as (key, value) views; marks every key known.
  virtual std::vector<std::pair<ParamsPtr, ParamsPtr>> entries() = 0;
  virtual bool has(std::string_view key) const = 0;
  /// Location of the key's value if present, else of the mapping.
  virtual Location at(std::string_view key) const = 0;
  /// "<path>.<key>".
  virtual std::string pathOf(std::string_view key) const = 0;
  /// The value of `key`, any kind (null view if absent; reported if required).
  virtual ParamsPtr value(std::string_view key, bool required = false) = 0;
  virtual std::optional<std::string> str(std::string_view key, bool required = false) = 0;
  virtual std::optional<bool> boolean(std::string_view key, bool required = false) = 0;
  virtual std::optional<std::int64_t> integer(std::string_view key, bool required = false,
                                              std::int64_t min = INT64_MIN,
                                              std::int64_t max = INT64_MAX) = 0;
  /// A number > `exclusiveMin` (use for rates); accepts integers and decimals.
  virtual std::optional<double> number(std::string_view key, bool required = false,
                                       double exclusiveMin = -1e300) = 0;
  virtual std::optional<std::string> enumeration(std::string_view key,
                                                 const std::vector<std::string>& allowed,
                                                 bool required = false) = 0;
  /// A list of strings.
  virtual std::optional<std::vector<std::string>> strings(std::string_view key,
                                                          bool required = false) = 0;
  /// A nested mapping; null view (and a problem reported) when present but not a mapping.
  virtual ParamsPtr mapping(std::string_view key, bool required = false) = 0;
  /// A nested list; null view (and a problem reported) when present but not a list.
  virtual ParamsPtr list(std::string_view key, bool required = false) = 0;
  /// Marks keys as known without reading them.
  virtual void allow(std::initializer_list<std::string_view> keys) = 0;
  /// Reports unknown keys. Call once, after all accessors.
  virtual void finish() = 0;
  /// Reports a problem with the value of `key` ("" = the mapping itself).
  virtual void error(std::string_view key, std::string message) const = 0;
  virtual void warning(std::string_view key, std::string message) const = 0;
};

}  // namespace mqb::config

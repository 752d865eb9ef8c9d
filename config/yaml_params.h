#pragma once
// config::Params over a yaml-cpp node, read with config::Fields: how the registry hands a stage's
// YAML mapping to its factory, and how tests parse a stage's parameters.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "config/fields.h"
#include "config/params.h"

namespace mqb::config {

class YamlParams final : public Params {
 public:
  /// A view of `node`, reported under `path` in `file`. The mapping accessors read `node` with a
  /// config::Fields made on first use (which reports a node that is not a mapping).
  YamlParams(YAML::Node node, std::string file, std::string path, Diagnostics& diag);

  Kind kind() const override;
  const std::string& path() const override { return path_; }
  Location location() const override { return locationOf(node_, file_); }
  Diagnostics& diag() const override { return diag_; }
  void fail(std::string message) const override;

  const std::string& scalar() const override;
  bool quoted() const override;

  std::size_t size() const override;
  ParamsPtr item(std::size_t i) const override;

  bool ok() override { return fields().ok(); }
  std::vector<std::pair<ParamsPtr, ParamsPtr>> entries() override;
  bool has(std::string_view key) const override;
  Location at(std::string_view key) const override;
  std::string pathOf(std::string_view key) const override;
  ParamsPtr value(std::string_view key, bool required) override;
  std::optional<std::string> str(std::string_view key, bool required) override {
    return fields().str(key, required);
  }
  std::optional<bool> boolean(std::string_view key, bool required) override {
    return fields().boolean(key, required);
  }
  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min,
                                      std::int64_t max) override {
    return fields().integer(key, required, min, max);
  }
  std::optional<double> number(std::string_view key, bool required, double exclusiveMin) override {
    return fields().number(key, required, exclusiveMin);
  }
  std::optional<std::string> enumeration(std::string_view key,
                                         const std::vector<std::string>& allowed,
                                         bool required) override {
    return fields().enumeration(key, allowed, required);
  }
  std::optional<std::vector<std::string>> strings(std::string_view key, bool required) override {
    return fields().strings(key, required);
  }
  ParamsPtr mapping(std::string_view key, bool required) override;
  ParamsPtr list(std::string_view key, bool required) override;
  void allow(std::initializer_list<std::string_view> keys) override { fields().allow(keys); }
  void finish() override { fields().finish(); }
  void error(std::string_view key, std::string message) const override;
  void warning(std::string_view key, std::string message) const override;

 private:
  Fields& fields() const;
  ParamsPtr child(const YAML::Node& n, std::string path) const;

  YAML::Node node_;
  std::string file_;
  std::string path_;
  Diagnostics& diag_;
  mutable std::optional<Fields> fields_;
};

}  // namespace mqb::config

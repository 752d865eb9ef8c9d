#include "config/yaml_params.h"

namespace mqb::config {

YamlParams::YamlParams(YAML::Node node, std::string file, std::string path, Diagnostics& diag)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), diag_(diag) {}

Fields& YamlParams::fields() const {
  if (!fields_) {
    fields_.emplace(node_, file_, path_, diag_);
  }
  return *fields_;
}

ParamsPtr YamlParams::child(const YAML::Node& n, std::string path) const {
  return std::make_unique<YamlParams>(n, file_, std::move(path), diag_);
}

Params::Kind YamlParams::kind() const {
  switch (node_.Type()) {
    case YAML::NodeType::Scalar:
      return Kind::Scalar;
    case YAML::NodeType::Sequence:
      return Kind::List;
    case YAML::NodeType::Map:
      return Kind::Mapping;
    default:
      return Kind::Null;
  }
}

void YamlParams::fail(std::string message) const {
  diag_.error(location(), path_, std::move(message));
}

const std::string& YamlParams::scalar() const {
  static const std::string kEmpty;
  return node_.IsScalar() ? node_.Scalar() : kEmpty;
}

bool YamlParams::quoted() const { return node_.IsScalar() && node_.Tag() == "!"; }

std::size_t YamlParams::size() const { return node_.IsSequence() ? node_.size() : 0; }

ParamsPtr YamlParams::item(std::size_t i) const {
  if (i >= size()) {
    return nullptr;
  }
  return child(node_[i], path_ + "[" + std::to_string(i) + "]");
}

std::vector<std::pair<ParamsPtr, ParamsPtr>> YamlParams::entries() {
  std::vector<std::pair<ParamsPtr, ParamsPtr>> out;
  if (!node_.IsMap()) {
    return out;
  }
  for (const auto& kv : node_) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    fields().allow({key});
    const std::string p = pathOf(key);
    out.emplace_back(child(kv.first, p), child(kv.second, p));
  }
  return out;
}

bool YamlParams::has(std::string_view key) const { return node_.IsMap() && fields().has(key); }

Location YamlParams::at(std::string_view key) const {
  return node_.IsMap() ? fields().at(key) : location();
}

std::string YamlParams::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

ParamsPtr YamlParams::value(std::string_view key, bool required) {
  YAML::Node n = fields().node(key);
  if (!n.IsDefined()) {
    if (required && fields().ok()) {
      diag_.error(location(), pathOf(key), "required field is missing (expected a value)");
    }
    return nullptr;
  }
  return child(n, pathOf(key));
}

ParamsPtr YamlParams::mapping(std::string_view key, bool required) {
  YAML::Node n = fields().mapping(key, required);
  return n.IsDefined() ? child(n, pathOf(key)) : nullptr;
}

ParamsPtr YamlParams::list(std::string_view key, bool required) {
  YAML::Node n = fields().sequence(key, required);
  return n.IsDefined() ? child(n, pathOf(key)) : nullptr;
}

void YamlParams::error(std::string_view key, std::string message) const {
  fields().error(key, std::move(message));
}

void YamlParams::warning(std::string_view key, std::string message) const {
  fields().warning(key, std::move(message));
}

}  // namespace mqb::config

#include "stages/common/config_util.h"

#include <charconv>
#include <cmath>
#include <string>

namespace mqb::stages::common {

std::optional<OnError> readOnError(config::Fields& f) {
  const auto v = f.enumeration("onError", {"drop", "pass"});
  if (!v) {
    return f.has("onError") ? std::nullopt : std::optional<OnError>(OnError::Drop);
  }
  return *v == "pass" ? OnError::Pass : OnError::Drop;
}

std::optional<JsonPath> readJsonPath(config::Fields& f, std::string_view key, bool required) {
  const auto s = f.str(key, required);
  if (!s) {
    return std::nullopt;
  }
  std::string error;
  auto p = JsonPath::parse(*s, error);
  if (!p) {
    f.error(key, error);
  }
  return p;
}

Json yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) {
        obj[kv.first.Scalar()] = yamlToJson(kv.second);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& v : node) {
        arr.push_back(yamlToJson(v));
      }
      return arr;
    }
    case YAML::NodeType::Scalar:
      break;
    default:
      return nullptr;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") {  // quoted: always a string
    return s;
  }
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  {
    std::int64_t i = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) {
      return i;
    }
  }
  {
    double d = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size() && std::isfinite(d)) {
      return d;
    }
  }
  return s;
}

}  // namespace mqb::stages::common

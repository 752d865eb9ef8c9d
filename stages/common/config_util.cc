#include "stages/common/config_util.h"

#include <charconv>
#include <cmath>
#include <string>

namespace mqb::stages::common {

std::optional<OnError> readOnError(config::Params& p) {
  const auto v = p.enumeration("onError", {"drop", "pass"});
  if (!v) {
    return p.has("onError") ? std::nullopt : std::optional<OnError>(OnError::Drop);
  }
  return *v == "pass" ? OnError::Pass : OnError::Drop;
}

std::optional<JsonPath> readJsonPath(config::Params& p, std::string_view key, bool required) {
  const auto s = p.str(key, required);
  if (!s) {
    return std::nullopt;
  }
  std::string error;
  auto path = JsonPath::parse(*s, error);
  if (!path) {
    p.error(key, error);
  }
  return path;
}

std::optional<JsonPath> jsonPathAt(const config::Params& v) {
  if (v.kind() != config::Params::Kind::Scalar) {
    v.fail("expected a field path");
    return std::nullopt;
  }
  std::string error;
  auto path = JsonPath::parse(v.scalar(), error);
  if (!path) {
    v.fail(error);
  }
  return path;
}

Json toJson(config::Params& v) {
  using Kind = config::Params::Kind;
  switch (v.kind()) {
    case Kind::Mapping: {
      Json obj = Json::object();
      for (const auto& [key, value] : v.entries()) {
        obj[key->scalar()] = toJson(*value);
      }
      return obj;
    }
    case Kind::List: {
      Json arr = Json::array();
      for (std::size_t i = 0; i < v.size(); ++i) {
        arr.push_back(toJson(*v.item(i)));
      }
      return arr;
    }
    case Kind::Scalar:
      break;
    default:
      return nullptr;
  }
  const std::string& s = v.scalar();
  if (v.quoted()) {  // quoted: always a string
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

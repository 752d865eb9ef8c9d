#include "config/fields.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace mqb::config {

Location locationOf(const YAML::Node& node, const std::string& file) {
  Location loc;
  loc.file = file;
  if (node.IsDefined()) {
    const YAML::Mark m = node.Mark();
    if (!m.is_null()) {
      loc.line = m.line + 1;
      loc.column = m.column + 1;
    }
  }
  return loc;
}

namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* kindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t bestDist = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  // Close enough: at most a third of the word's length (and at least 1, at most 4 edits).
  const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 4);
  return bestDist <= limit ? best : std::string();
}

Fields::Fields(const YAML::Node& map, std::string file, std::string path, Diagnostics& diag)
    : map_(map), file_(std::move(file)), path_(std::move(path)), diag_(diag) {
  isMap_ = map_.IsMap();
  if (!isMap_) {
    diag_.error(locationOf(map_, file_), path_,
                std::string("expected a mapping, got ") + kindName(map_));
  }
}

Location Fields::location() const { return locationOf(map_, file_); }

bool Fields::has(std::string_view key) const {
  if (!isMap_) {
    return false;
  }
  for (const auto& kv : map_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      return true;
    }
  }
  return false;
}

Location Fields::at(std::string_view key) const {
  if (isMap_) {
    for (const auto& kv : map_) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        return locationOf(kv.second.IsNull() ? kv.first : kv.second, file_);
      }
    }
  }
  return location();
}

std::string Fields::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void Fields::error(std::string_view key, std::string message) const {
  diag_.error(at(key), key.empty() ? path_ : pathOf(key), std::move(message));
}

void Fields::warning(std::string_view key, std::string message) const {
  diag_.warning(at(key), key.empty() ? path_ : pathOf(key), std::move(message));
}

YAML::Node Fields::get(std::string_view key, bool required, const char* expected) {
  known_.emplace(key);
  if (!isMap_) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  for (const auto& kv : map_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      return kv.second;
    }
  }
  if (required) {
    diag_.error(location(), pathOf(key),
                std::string("required field is missing (expected ") + expected + ")");
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node Fields::node(std::string_view key) { return get(key, false, "a value"); }

std::optional<std::string> Fields::str(std::string_view key, bool required) {
  YAML::Node n = get(key, required, "a string");
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(key, std::string("expected a string, got ") + kindName(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> Fields::boolean(std::string_view key, bool required) {
  YAML::Node n = get(key, required, "true or false");
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
    error(key, "expected true or false, got " + quoted(s));
    return std::nullopt;
  }
  error(key, std::string("expected true or false, got ") + kindName(n));
  return std::nullopt;
}

std::optional<std::int64_t> Fields::integer(std::string_view key, bool required, std::int64_t min,
                                            std::int64_t max) {
  YAML::Node n = get(key, required, "an integer");
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(key, std::string("expected an integer, got ") + kindName(n));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  std::int64_t v = 0;
  std::size_t used = 0;
  try {
    v = std::stoll(s, &used, 10);
  } catch (...) {
    used = 0;
  }
  if (s.empty() || used != s.size()) {
    error(key, "expected an integer, got " + quoted(s));
    return std::nullopt;
  }
  if (v < min || v > max) {
    std::ostringstream os;
    if (max == INT64_MAX) {
      os << "must be >= " << min << ", got " << v;
    } else if (min == INT64_MIN) {
      os << "must be <= " << max << ", got " << v;
    } else {
      os << "must be between " << min << " and " << max << ", got " << v;
    }
    error(key, os.str());
    return std::nullopt;
  }
  return v;
}

std::optional<double> Fields::number(std::string_view key, bool required, double exclusiveMin) {
  YAML::Node n = get(key, required, "a number");
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(key, std::string("expected a number, got ") + kindName(n));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    used = 0;
  }
  if (s.empty() || used != s.size() || !std::isfinite(v)) {
    error(key, "expected a number, got " + quoted(s));
    return std::nullopt;
  }
  if (!(v > exclusiveMin)) {
    std::ostringstream os;
    os << "must be > " << exclusiveMin << ", got " << s;
    error(key, os.str());
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Fields::enumeration(std::string_view key,
                                               const std::vector<std::string>& allowed,
                                               bool required) {
  std::string expected = "one of";
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    expected += (i == 0 ? " " : ", ") + allowed[i];
  }
  YAML::Node n = get(key, required, expected.c_str());
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(key, "expected " + expected + ", got " + kindName(n));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) {
    return s;
  }
  std::string msg = "must be " + expected + ", got " + quoted(s);
  if (auto near = nearest(s, allowed); !near.empty()) {
    msg += " (did you mean \"" + near + "\"?)";
  }
  error(key, msg);
  return std::nullopt;
}

YAML::Node Fields::mapping(std::string_view key, bool required) {
  YAML::Node n = get(key, required, "a mapping");
  if (!n.IsDefined()) {
    return n;
  }
  if (!n.IsMap()) {
    // `kubernetes: {}` style empty objects arrive as maps; a bare `kubernetes:` is null.
    if (n.IsNull()) {
      return YAML::Node(YAML::NodeType::Map);
    }
    error(key, std::string("expected a mapping, got ") + kindName(n));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return n;
}

YAML::Node Fields::sequence(std::string_view key, bool required) {
  YAML::Node n = get(key, required, "a list");
  if (!n.IsDefined()) {
    return n;
  }
  if (!n.IsSequence()) {
    error(key, std::string("expected a list, got ") + kindName(n));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return n;
}

std::optional<std::vector<std::string>> Fields::strings(std::string_view key, bool required) {
  YAML::Node n = sequence(key, required);
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool good = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      diag_.error(locationOf(n[i], file_), pathOf(key) + "[" + std::to_string(i) + "]",
                  std::string("expected a string, got ") + kindName(n[i]));
      good = false;
      continue;
    }
    out.push_back(n[i].Scalar());
  }
  if (!good) {
    return std::nullopt;
  }
  return out;
}

void Fields::allow(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    known_.emplace(k);
  }
}

void Fields::finish() {
  if (!isMap_) {
    return;
  }
  std::vector<std::string> valid(known_.begin(), known_.end());
  for (const auto& kv : map_) {
    if (!kv.first.IsScalar()) {
      diag_.error(locationOf(kv.first, file_), path_, "keys must be strings");
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (known_.count(k) != 0) {
      continue;
    }
    std::string msg = "unknown field";
    if (auto near = nearest(k, valid); !near.empty()) {
      msg += " (did you mean \"" + near + "\"?)";
    } else if (!valid.empty()) {
      msg += "; valid fields:";
      for (std::size_t i = 0; i < valid.size(); ++i) {
        msg += (i == 0 ? " " : ", ") + valid[i];
      }
    }
    diag_.error(locationOf(kv.first, file_), pathOf(k), msg);
  }
}

}  // namespace mqb::config

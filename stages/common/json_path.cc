#include "stages/common/json_path.h"

#include <charconv>

namespace mqb::stages::common {
namespace {

std::optional<std::size_t> indexOf(const std::string& s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  std::size_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

/// The child of `node` named `seg`, or nullptr.
template <typename J>
J* child(J& node, const std::string& seg) {
  if (node.is_object()) {
    auto it = node.find(seg);
    return it == node.end() ? nullptr : &*it;
  }
  if (node.is_array()) {
    if (auto i = indexOf(seg); i && *i < node.size()) {
      return &node[*i];
    }
  }
  return nullptr;
}

}  // namespace

std::optional<JsonPath> JsonPath::parse(std::string_view text, std::string& error) {
  JsonPath p;
  p.text_ = std::string(text);
  if (text.empty()) {
    error = "a field path must not be empty";
    return std::nullopt;
  }
  if (text.front() == '/') {
    std::size_t start = 1;
    while (true) {
      const std::size_t end = text.find('/', start);
      std::string_view raw =
          text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      std::string seg;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '~') {
          seg += raw[i];
        } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
          seg += raw[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          error = "invalid JSON pointer escape in \"" + std::string(text) +
                  "\" (use ~0 for ~ and ~1 for /)";
          return std::nullopt;
        }
      }
      p.segments_.push_back(std::move(seg));
      if (end == std::string_view::npos) {
        break;
      }
      start = end + 1;
    }
    return p;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('.', start);
    std::string_view seg =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) {
      error = "empty segment in field path \"" + std::string(text) +
              "\" (write a.b.c, or a JSON pointer /a/b/c)";
      return std::nullopt;
    }
    p.segments_.emplace_back(seg);
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return p;
}

namespace {

template <typename J>
const J* findIn(const J& root, const std::vector<std::string>& segments) noexcept {
  const J* cur = &root;
  for (const auto& seg : segments) {
    cur = child(*cur, seg);
    if (cur == nullptr) {
      return nullptr;
    }
  }
  return cur;
}

}  // namespace

const Json* JsonPath::find(const Json& root) const noexcept { return findIn(root, segments_); }

const nlohmann::json* JsonPath::find(const nlohmann::json& root) const noexcept {
  return findIn(root, segments_);
}

std::optional<Json> JsonPath::take(Json& root) const {
  Json* parent = &root;
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    parent = child(*parent, segments_[i]);
    if (parent == nullptr) {
      return std::nullopt;
    }
  }
  const std::string& last = segments_.back();
  if (parent->is_object()) {
    auto it = parent->find(last);
    if (it == parent->end()) {
      return std::nullopt;
    }
    Json v = std::move(*it);
    parent->erase(it);
    return v;
  }
  if (parent->is_array()) {
    if (auto idx = indexOf(last); idx && *idx < parent->size()) {
      Json v = std::move((*parent)[*idx]);
      parent->erase(*idx);
      return v;
    }
  }
  return std::nullopt;
}

bool JsonPath::set(Json& root, Json value) const {
  // Check first, so that a failure leaves the document unchanged.
  const Json* probe = &root;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (probe == nullptr) {
      break;  // the rest will be created as objects
    }
    if (!probe->is_object() && !probe->is_array()) {
      return false;
    }
    if (probe->is_array()) {
      auto idx = indexOf(segments_[i]);
      if (!idx || *idx >= probe->size()) {
        return false;
      }
    }
    probe = child(*probe, segments_[i]);
  }
  Json* cur = &root;
  for (const auto& seg : segments_) {
    if (cur->is_array()) {
      cur = &(*cur)[*indexOf(seg)];
    } else {
      cur = &(*cur)[seg];  // creates null, which operator[] turns into an object below
    }
  }
  *cur = std::move(value);
  return true;
}

}  // namespace mqb::stages::common

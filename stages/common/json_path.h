#pragma once
// Addressing a field inside a JSON document, for the filter and json_map stages. Two spellings:
//   "/a/b/0"  a JSON pointer (RFC 6901, with ~0 and ~1 escapes)
//   "a.b.0"   a dotted path (no escapes: use a JSON pointer for keys that contain '.')
// A segment that is a non-negative decimal integer indexes an array when the parent is an array,
// and names a key when it is an object. Logic-side helper (no YAML).

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqb::stages::common {

/// JSON documents keep their key order through a stage (users diff payloads by eye).
using Json = nlohmann::ordered_json;

class JsonPath {
 public:
  /// Parses `text`; on failure returns std::nullopt and sets `error`.
  static std::optional<JsonPath> parse(std::string_view text, std::string& error);

  const std::string& text() const noexcept { return text_; }
  const std::vector<std::string>& segments() const noexcept { return segments_; }

  /// The addressed value, or nullptr.
  const Json* find(const Json& root) const noexcept;
  /// Same, for read-only users that parse into the (faster to build) unordered document type.
  const nlohmann::json* find(const nlohmann::json& root) const noexcept;
  /// Removes the addressed value and returns it (std::nullopt if absent).
  std::optional<Json> take(Json& root) const;
  /// Sets the addressed value, creating missing intermediate objects. Returns false (leaving
  /// `root` unchanged) when an intermediate value is neither an object nor an indexable array.
  bool set(Json& root, Json value) const;

 private:
  std::string text_;
  std::vector<std::string> segments_;
};

}  // namespace mqb::stages::common

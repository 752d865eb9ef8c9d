#pragma once
// Route targets: a topic name, or (extension) a template over the levels of the message's topic.
//
//   "factory/alerts"     a static topic
//   "factory/{1}/{3-#}"  {n} level n, {n-m} levels n..m joined by '/', {n-#} level n to the last,
//                        {#} the whole topic; levels are numbered from 1, up to kMaxLevel
//   "a/{{x}}/{1}"        {{ and }} are literal braces: "a/{x}/" then level 1
//
// The one parser of this syntax. The loader validates a route's `target` with it, the
// topic_rewrite stage compiles its target with it, and loop detection reads it (asFilter()).
// A template is compiled once; resolving it is a single pass over the topic, without parsing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"

namespace mqb::config::topic {

/// A compiled target template. Immutable once compiled: share it between threads freely.
class Template {
 public:
  struct Part {
    enum class Kind : std::uint8_t { Literal, Levels };
    Kind kind = Kind::Literal;
    std::string literal;      ///< Kind::Literal, braces unescaped
    std::uint32_t first = 0;  ///< Kind::Levels: 1-based first level, 0 = whole topic ({#})
    std::uint32_t last = 0;   ///< 1-based last level; kToEnd = to the last level
  };
  static constexpr std::uint32_t kToEnd = UINT32_MAX;
  static constexpr std::uint32_t kMaxLevel = 1000;

  /// True if the template has no placeholder (a static topic: parts()[0].literal, if any part).
  bool isStatic() const noexcept {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].kind == Part::Kind::Literal);
  }
  const std::vector<Part>& parts() const noexcept { return parts_; }
  /// The template as written.
  const std::string& text() const noexcept { return text_; }

  /// Writes the target for `topic` into `out`. Returns false (out unspecified) if a referenced
  /// level does not exist in `topic` or the result is empty.
  bool resolve(std::string_view topic, std::string& out) const;

  /// A topic filter that matches every topic resolve() can produce: a level holding a
  /// placeholder becomes `+` (as many as the levels it spans), and `#` from a placeholder that
  /// runs to the last level on.
  std::string asFilter() const;

 private:
  friend std::optional<Template> parseTemplate(std::string_view text, std::string& error);
  std::vector<Part> parts_;
  std::string text_;
  std::uint32_t maxLevel_ = 0;  ///< highest level a placeholder needs
};

/// Compiles `text`. On failure returns nullopt and sets `error` to a one-line explanation, e.g.
/// `unterminated placeholder "{2" at column 9`. Checks: not empty, encodingError() (topic.h),
/// placeholders well-formed, no `+` or `#` outside them, every `}` closing a placeholder or
/// doubled.
std::optional<Template> parseTemplate(std::string_view text, std::string& error);

/// Compiles a target written at `where` (YAML path `path`); on failure reports
/// `invalid target "<target>": <why>` into `diag` and returns nullopt.
std::optional<Template> compileTarget(const std::string& target, const Location& where,
                                      const std::string& path, Diagnostics& diag);

}  // namespace mqb::config::topic

#pragma once
// topic_rewrite: the spec's target rules plus level templates (extension).
//
//   target omitted      -> the message keeps its own topic (not the route's filter)
//   target "a/b"        -> static topic
//   target with {...}   -> template over the levels of the message's topic (1-based):
//       {n}    level n            {n-m}  levels n..m joined by '/'
//       {n-#}  level n to last    {#}    the whole topic
//       {{ and }} are literal braces.
// Templates are compiled once (parseTemplate); resolving one is a single pass with no parsing.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "pipeline/stage.h"

namespace mqb::stages::topic_rewrite {

/// A compiled target template.
class Template {
 public:
  struct Part {
    enum class Kind : std::uint8_t { Literal, Levels };
    Kind kind = Kind::Literal;
    std::string literal;      ///< Kind::Literal
    std::uint32_t first = 0;  ///< Kind::Levels: 1-based first level, 0 = whole topic ({#})
    std::uint32_t last = 0;   ///< 1-based last level; kToEnd = to the last level
  };
  static constexpr std::uint32_t kToEnd = UINT32_MAX;

  /// True if the template has no placeholder (a static topic).
  bool isStatic() const noexcept {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].kind == Part::Kind::Literal);
  }
  const std::vector<Part>& parts() const noexcept { return parts_; }
  const std::string& text() const noexcept { return text_; }

  /// Writes the target for `topic` into `out`. Returns false (out unspecified) if a referenced
  /// level does not exist in `topic` or the result is empty.
  bool resolve(std::string_view topic, std::string& out) const;

 private:
  friend std::optional<Template> parseTemplate(std::string_view text, std::string& error);
  std::vector<Part> parts_;
  std::string text_;
  std::uint32_t maxLevel_ = 0;  ///< highest level a placeholder needs
};

/// Compiles `text`. On failure returns nullopt and sets `error` to a one-line explanation, e.g.
/// `unterminated placeholder "{2" at column 9`.
std::optional<Template> parseTemplate(std::string_view text, std::string& error);

/// Immutable configuration: no target (keep topic) or a compiled template.
struct Settings {
  std::optional<Template> target;
};

/// The per-branch stage.
class TopicRewrite final : public pipeline::Stage {
 public:
  /// `settings` is shared by every branch of the route (immutable).
  TopicRewrite(std::shared_ptr<const Settings> settings, const pipeline::StageContext& ctx);
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

  std::uint64_t unresolved() const noexcept { return unresolved_; }

 private:
  std::shared_ptr<const Settings> settings_;
  pipeline::StageContext ctx_;
  std::string scratch_;
  std::uint64_t unresolved_ = 0;
  log::Every logEvery_{std::chrono::seconds(10)};
};

}  // namespace mqb::stages::topic_rewrite

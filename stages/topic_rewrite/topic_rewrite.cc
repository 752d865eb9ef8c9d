#include "stages/topic_rewrite/topic_rewrite.h"

#include <array>
#include <charconv>

namespace mqb::stages::topic_rewrite {

namespace {

constexpr std::uint32_t kMaxLevel = 1000;

std::string col(std::size_t i) { return "column " + std::to_string(i + 1); }

bool parseNumber(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 9) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

// template := ( literal | "{{" | "}}" | "{" spec "}" )*
// spec     := "#" | N | N "-" N | N "-#"        (N: decimal, 1..1000)
std::optional<Template> parseTemplate(std::string_view text, std::string& error) {
  Template t;
  t.text_ = std::string(text);
  if (text.empty()) {
    error = "must not be empty";
    return std::nullopt;
  }
  auto literal = [&t](char c) {
    if (t.parts_.empty() || t.parts_.back().kind != Template::Part::Kind::Literal) {
      t.parts_.emplace_back();
    }
    t.parts_.back().literal.push_back(c);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        literal('{');
        ++i;
        continue;
      }
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        error = "unterminated placeholder \"" + std::string(text.substr(i)) + "\" at " + col(i);
        return std::nullopt;
      }
      const std::string_view spec = text.substr(i + 1, close - i - 1);
      const std::string shown = "\"{" + std::string(spec) + "}\" at " + col(i);
      if (spec.empty()) {
        error = "empty placeholder " + shown;
        return std::nullopt;
      }
      Template::Part part;
      part.kind = Template::Part::Kind::Levels;
      if (spec == "#") {
        part.first = 0;
        part.last = Template::kToEnd;
      } else {
        const std::size_t dash = spec.find('-');
        const std::string_view a = spec.substr(0, dash);
        std::uint32_t first = 0;
        std::uint32_t last = 0;
        bool ok = parseNumber(a, first);
        if (ok && dash == std::string_view::npos) {
          last = first;
        } else if (ok) {
          const std::string_view b = spec.substr(dash + 1);
          if (b == "#") {
            last = Template::kToEnd;
          } else {
            ok = parseNumber(b, last);
          }
        }
        if (!ok) {
          error = "invalid placeholder " + shown + ": expected {N}, {N-M}, {N-#} or {#}";
          return std::nullopt;
        }
        if (first == 0 || last == 0) {
          error = "invalid placeholder " + shown + ": levels are numbered from 1";
          return std::nullopt;
        }
        if (first > kMaxLevel || (last != Template::kToEnd && last > kMaxLevel)) {
          error = "invalid placeholder " + shown + ": levels above " + std::to_string(kMaxLevel) +
                  " are not supported";
          return std::nullopt;
        }
        if (last != Template::kToEnd && last < first) {
          error = "invalid placeholder " + shown + ": range ends before it starts";
          return std::nullopt;
        }
        part.first = first;
        part.last = last;
        t.maxLevel_ = std::max(t.maxLevel_, last == Template::kToEnd ? first : last);
      }
      t.parts_.push_back(std::move(part));
      i = close;
      continue;
    }
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal('}');
        ++i;
        continue;
      }
      error = "unmatched '}' at " + col(i) + " (write }} for a literal brace)";
      return std::nullopt;
    }
    if (c == '+' || c == '#') {
      error =
          std::string("wildcard '") + c + "' at " + col(i) + " is not allowed in a target topic";
      return std::nullopt;
    }
    literal(c);
  }
  return t;
}

bool Template::resolve(std::string_view topic, std::string& out) const {
  out.clear();
  // Slash positions of the topic, on the stack for all but very deep topics.
  std::array<std::uint32_t, 64> small{};
  std::vector<std::uint32_t> big;
  std::uint32_t* slashes = small.data();
  std::size_t n = 0;
  for (std::size_t i = 0; i < topic.size(); ++i) {
    if (topic[i] == '/') {
      if (n == small.size() && big.empty()) {
        big.assign(small.begin(), small.end());
      }
      if (n >= small.size()) {
        big.push_back(static_cast<std::uint32_t>(i));
        slashes = big.data();
      } else {
        small[n] = static_cast<std::uint32_t>(i);
      }
      ++n;
    }
  }
  const std::size_t levels = n + 1;
  if (maxLevel_ > levels) {
    return false;
  }
  auto begin = [&](std::size_t level) -> std::size_t {  // 1-based
    return level == 1 ? 0 : slashes[level - 2] + 1;
  };
  auto end = [&](std::size_t level) -> std::size_t {
    return level - 1 < n ? slashes[level - 1] : topic.size();
  };
  for (const Part& p : parts_) {
    if (p.kind == Part::Kind::Literal) {
      out += p.literal;
    } else if (p.first == 0) {
      out += topic;
    } else {
      const std::size_t last = p.last == kToEnd ? levels : p.last;
      const std::size_t b = begin(p.first);
      out.append(topic.substr(b, end(last) - b));
    }
  }
  return !out.empty();
}

TopicRewrite::TopicRewrite(std::shared_ptr<const Settings> settings,
                           const pipeline::StageContext& ctx)
    : settings_(std::move(settings)), ctx_(ctx) {}

void TopicRewrite::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  const std::optional<Template>& target = settings_->target;
  if (!target) {
    out.emit(std::move(msg));
    return;
  }
  if (target->isStatic()) {
    msg.topic = target->parts()[0].literal;  // reuses the topic's capacity when it fits
    out.emit(std::move(msg));
    return;
  }
  try {
    if (target->resolve(msg.topic, scratch_)) {
      msg.topic.swap(scratch_);
      out.emit(std::move(msg));
      return;
    }
  } catch (...) {  // allocation failure: treat like an unresolvable template
  }
  ++unresolved_;
  if (ctx_.metrics != nullptr) {
    ctx_.metrics->drop(metrics::DropReason::Template);
  }
  std::uint64_t suppressed = 0;
  if (logEvery_.allow(&suppressed)) {
    try {
      log::warn("template_unresolved",
                {{"route", ctx_.route != nullptr ? ctx_.route->name : std::string()},
                 {"branch", ctx_.branch},
                 {"target", target->text()},
                 {"topic", msg.topic},
                 {"suppressed", suppressed}});
    } catch (...) {  // building the fields can only fail to allocate; the counter still counts
    }
  }
  msg.completion.settle(pipeline::Outcome::Dropped);
}

}  // namespace mqb::stages::topic_rewrite

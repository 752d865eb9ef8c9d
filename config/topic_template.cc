#include "config/topic_template.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "config/topic.h"

namespace mqb::config::topic {

namespace {

std::string col(std::size_t i) { return "column " + std::to_string(i + 1); }

bool parseNumber(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 9) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

/// Parses the inside of a placeholder, `spec` := "#" | N | N "-" N | N "-#", into `part`; on
/// failure returns what is wrong (after "invalid placeholder <shown>: ").
std::string parsePlaceholder(std::string_view spec, Template::Part& part) {
  part.kind = Template::Part::Kind::Levels;
  if (spec == "#") {
    part.first = 0;
    part.last = Template::kToEnd;
    return {};
  }
  const std::size_t dash = spec.find('-');
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  bool ok = parseNumber(spec.substr(0, dash), first);
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
    return "expected {N}, {N-M}, {N-#} or {#}";
  }
  if (first == 0 || last == 0) {
    return "levels are numbered from 1";
  }
  if (first > Template::kMaxLevel || (last != Template::kToEnd && last > Template::kMaxLevel)) {
    return "levels above " + std::to_string(Template::kMaxLevel) + " are not supported";
  }
  if (last != Template::kToEnd && last < first) {
    return "range ends before it starts";
  }
  part.first = first;
  part.last = last;
  return {};
}

}  // namespace

// template := ( literal | "{{" | "}}" | "{" spec "}" )*
std::optional<Template> parseTemplate(std::string_view text, std::string& error) {
  if (text.empty()) {
    error = "must not be empty";
    return std::nullopt;
  }
  if (error = encodingError(text); !error.empty()) {
    return std::nullopt;
  }
  Template t;
  t.text_ = std::string(text);
  auto literal = [&t](char c) {
    if (t.parts_.empty() || t.parts_.back().kind != Template::Part::Kind::Literal) {
      t.parts_.emplace_back();
    }
    t.parts_.back().literal.push_back(c);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool doubled = i + 1 < text.size() && text[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      literal(c);
      ++i;
    } else if (c == '{') {
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
      if (std::string why = parsePlaceholder(spec, part); !why.empty()) {
        error = "invalid placeholder " + shown + ": " + why;
        return std::nullopt;
      }
      if (part.first != 0) {
        t.maxLevel_ = std::max(t.maxLevel_, part.last == Template::kToEnd ? part.first : part.last);
      }
      t.parts_.push_back(std::move(part));
      i = close;
    } else if (c == '}') {
      error = "unmatched '}' at " + col(i) + " (write }} for a literal brace)";
      return std::nullopt;
    } else if (c == '+' || c == '#') {
      error = std::string("wildcard '") + c + "' at " + col(i) +
              " is not allowed in a target topic; wildcards belong in `source`";
      return std::nullopt;
    } else {
      literal(c);
    }
  }
  return t;
}

std::optional<Template> compileTarget(const std::string& target, const Location& where,
                                      const std::string& path, Diagnostics& diag) {
  std::string error;
  std::optional<Template> t = parseTemplate(target, error);
  if (!t) {
    diag.error(where, path, "invalid target \"" + target + "\": " + error);
  }
  return t;
}

bool Template::resolve(std::string_view topic, std::string& out) const {
  out.clear();
  // Positions of the first maxLevel_ slashes (all a template can need: level n ends at slash n;
  // "to the end" ends at the topic's end). On the stack for all but very deep templates.
  std::array<std::uint32_t, 32> small;  // NOLINT: only [0, n) is read
  std::vector<std::uint32_t> big;
  std::uint32_t* slashes = small.data();
  if (maxLevel_ > small.size()) {
    big.resize(maxLevel_);
    slashes = big.data();
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < topic.size() && n < maxLevel_; ++i) {
    if (topic[i] == '/') {
      slashes[n++] = static_cast<std::uint32_t>(i);
    }
  }
  // Levels known to exist: n + 1 (more if the scan stopped early, which needs no more).
  if (maxLevel_ > n + 1) {
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
      const std::size_t b = begin(p.first);
      const std::size_t e = p.last == kToEnd ? topic.size() : end(p.last);
      out.append(topic.substr(b, e - b));
    }
  }
  return !out.empty();
}

std::string Template::asFilter() const {
  std::string out;
  std::size_t levelStart = 0;  // where the current level begins in `out`
  bool wild = false;           // the current level holds a placeholder
  auto endLevel = [&] {
    if (wild) {
      out.resize(levelStart);
      out += '+';
    }
  };
  for (const Part& p : parts_) {
    if (p.kind == Part::Kind::Literal) {
      for (const char c : p.literal) {
        if (c == '/') {
          endLevel();
          out += '/';
          levelStart = out.size();
          wild = false;
        } else {
          out += c;
        }
      }
    } else if (p.first == 0 || p.last == kToEnd) {
      out.resize(levelStart);
      out += '#';  // matches the rest, whatever follows
      return out;
    } else {
      wild = true;
      for (std::uint32_t extra = p.first; extra < p.last; ++extra) {  // the levels it spans
        endLevel();
        out += '/';
        levelStart = out.size();
      }
    }
  }
  endLevel();
  return out;
}

}  // namespace mqb::config::topic

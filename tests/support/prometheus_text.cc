#include "tests/support/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>

namespace mqb::test {
namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }
bool isBlank(char c) { return c == ' ' || c == '\t'; }

/// A cursor over one line.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skipBlanks() {
    while (!done() && isBlank(s[i])) {
      ++i;
    }
  }
  std::string name() {
    const std::size_t from = i;
    if (!done() && isNameStart(s[i])) {
      while (!done() && isNameChar(s[i])) {
        ++i;
      }
    }
    return std::string(s.substr(from, i - from));
  }
  std::string word() {
    const std::size_t from = i;
    while (!done() && !isBlank(s[i])) {
      ++i;
    }
    return std::string(s.substr(from, i - from));
  }
};

/// A quoted label value after its opening quote, unescaped; nullopt if it is not terminated or
/// has an unknown escape.
std::optional<std::string> quoted(Cursor& c) {
  std::string out;
  while (!c.done()) {
    const char ch = c.s[c.i++];
    if (ch == '"') {
      return out;
    }
    if (ch != '\\') {
      out += ch;
      continue;
    }
    const char e = c.peek();
    ++c.i;
    if (e == '\\' || e == '"') {
      out += e;
    } else if (e == 'n') {
      out += '\n';
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// `{name="value",...}` (the cursor on the `{`); "" on success, else what is wrong.
std::string labels(Cursor& c, std::map<std::string, std::string>& out) {
  ++c.i;
  for (;;) {
    c.skipBlanks();
    if (c.peek() == '}') {
      ++c.i;
      return "";
    }
    const std::string key = c.name();
    if (key.empty()) {
      return "bad label name";
    }
    c.skipBlanks();
    if (c.peek() != '=') {
      return std::string("no '=' after label ").append(key);
    }
    ++c.i;
    c.skipBlanks();
    if (c.peek() != '"') {
      return std::string("label ").append(key).append(" is not quoted");
    }
    ++c.i;
    auto value = quoted(c);
    if (!value) {
      return std::string("bad value of label ").append(key);
    }
    out[key] = std::move(*value);
    c.skipBlanks();
    if (c.peek() == ',') {
      ++c.i;
    } else if (c.peek() != '}') {
      return std::string("no ',' or '}' after label ").append(key);
    }
  }
}

std::optional<double> number(const std::string& w) {
  if (w == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (w == "+Inf" || w == "-Inf") {
    return w[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (w.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(w.c_str(), &end);
  return end == w.c_str() + w.size() ? std::optional<double>(v) : std::nullopt;
}

/// A sample line; "" on success, else what is wrong.
std::string sample(std::string_view line, PrometheusSample& out) {
  Cursor c{line};
  out.name = c.name();
  if (out.name.empty()) {
    return "bad metric name";
  }
  if (c.peek() == '{') {
    if (auto err = labels(c, out.labels); !err.empty()) {
      return err;
    }
  }
  if (!isBlank(c.peek())) {
    return "no blank before the value";
  }
  c.skipBlanks();
  const auto value = number(c.word());
  if (!value) {
    return "bad value";
  }
  out.value = *value;
  c.skipBlanks();
  if (!c.done() && !number(c.word())) {
    return "bad timestamp";
  }
  c.skipBlanks();
  return c.done() ? "" : "text after the timestamp";
}

/// A `#` line: records `# TYPE name type`; everything else is a comment.
void comment(std::string_view line, PrometheusText& out) {
  Cursor c{line.substr(1)};
  c.skipBlanks();
  if (c.word() != "TYPE") {
    return;
  }
  c.skipBlanks();
  std::string name = c.name();
  c.skipBlanks();
  out.types[std::move(name)] = c.word();
}

/// `label="value"` -> (label, value); nullopt if it is not of that form.
std::optional<std::pair<std::string, std::string>> selector(const std::string& s) {
  Cursor c{s};
  std::string key = c.name();
  if (key.empty() || c.peek() != '=') {
    return std::nullopt;
  }
  ++c.i;
  if (c.peek() != '"') {
    return std::nullopt;
  }
  ++c.i;
  auto value = quoted(c);
  if (!value || !c.done()) {
    return std::nullopt;
  }
  return std::make_pair(std::move(key), std::move(*value));
}

}  // namespace

PrometheusText parsePrometheusText(std::string_view text) {
  PrometheusText out;
  std::size_t lineNo = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++lineNo;
    while (!line.empty() && (isBlank(line.back()) || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      comment(line, out);
      continue;
    }
    PrometheusSample s;
    if (auto err = sample(line, s); !err.empty()) {
      out.errors.push_back(
          std::string("line ").append(std::to_string(lineNo)).append(": ").append(err));
      continue;
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

double PrometheusText::sum(std::string_view name, const std::vector<std::string>& selectors) const {
  std::vector<std::pair<std::string, std::string>> want;
  for (const auto& s : selectors) {
    auto kv = selector(s);
    if (!kv) {
      return 0;
    }
    want.push_back(std::move(*kv));
  }
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) {
      continue;
    }
    bool all = true;
    for (const auto& [k, v] : want) {
      const auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    total += all ? s.value : 0;
  }
  return total;
}

std::size_t PrometheusText::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& s : samples) {
    n += s.name == name ? 1 : 0;
  }
  return n;
}

}  // namespace mqb::test

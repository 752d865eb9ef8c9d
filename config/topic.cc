#include "config/topic.h"

#include <vector>

#include "config/topic_template.h"

namespace mqb::config::topic {

namespace {

std::vector<std::string_view> levels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// Length of a UTF-8 sequence starting with `c`, or 0 if `c` cannot start one.
int sequenceLength(unsigned char c) {
  if (c < 0x80) {
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    return 4;
  }
  return 0;
}

bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = sequenceLength(c);
    if (n == 0 || i + static_cast<std::size_t>(n) > s.size()) {
      return false;
    }
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    const auto c1 = static_cast<unsigned char>(n > 1 ? s[i + 1] : 0);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F)) {
      return false;  // overlong, surrogate or beyond U+10FFFF
    }
    i += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string encodingError(std::string_view s) {
  if (s.size() > kMaxTopicBytes) {
    return "is " + std::to_string(s.size()) + " bytes long; MQTT allows at most 65535";
  }
  if (s.find('\0') != std::string_view::npos) {
    return "must not contain the NUL character";
  }
  if (!validUtf8(s)) {
    return "must be valid UTF-8";
  }
  return {};
}

std::string filterError(std::string_view filter) {
  if (filter.empty()) {
    return "must not be empty";
  }
  if (auto e = encodingError(filter); !e.empty()) {
    return e;
  }
  const auto lv = levels(filter);
  for (std::size_t i = 0; i < lv.size(); ++i) {
    const std::string_view l = lv[i];
    if (l.find('#') != std::string_view::npos) {
      if (l != "#") {
        return "'#' must be a whole level (e.g. \"a/#\"), got \"" + std::string(l) + "\"";
      }
      if (i + 1 != lv.size()) {
        return "'#' must be the last level";
      }
    }
    if (l.find('+') != std::string_view::npos && l != "+") {
      return "'+' must be a whole level (e.g. \"a/+/b\"), got \"" + std::string(l) + "\"";
    }
  }
  return {};
}

std::string nameError(std::string_view name) {
  if (name.empty()) {
    return "must not be empty";
  }
  if (auto e = encodingError(name); !e.empty()) {
    return e;
  }
  if (name.find_first_of("+#") != std::string_view::npos) {
    return "must not contain wildcards ('+' or '#'); wildcards belong in `source`";
  }
  return {};
}

bool isTemplate(std::string_view target) {
  std::string error;
  const auto t = parseTemplate(target, error);
  return t && !t->isStatic();
}

std::string targetError(std::string_view target) {
  std::string error;
  parseTemplate(target, error);
  return error;
}

bool matches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  const auto f = levels(filter);
  const auto t = levels(topic);
  std::size_t i = 0;
  for (; i < f.size(); ++i) {
    if (f[i] == "#") {
      return true;  // matches this level and below, including the parent itself
    }
    if (i >= t.size()) {
      return false;
    }
    if (f[i] != "+" && f[i] != t[i]) {
      return false;
    }
  }
  return i == t.size();
}

bool overlaps(std::string_view filterA, std::string_view filterB) {
  const auto a = levels(filterA);
  const auto b = levels(filterB);
  for (std::size_t i = 0;; ++i) {
    const bool endA = i >= a.size();
    const bool endB = i >= b.size();
    if (!endA && a[i] == "#") {
      return true;
    }
    if (!endB && b[i] == "#") {
      return true;
    }
    if (endA || endB) {
      return endA && endB;
    }
    if (a[i] != "+" && b[i] != "+" && a[i] != b[i]) {
      return false;
    }
  }
}

std::string templateAsFilter(std::string_view target) {
  std::string error;
  const auto t = parseTemplate(target, error);
  return t ? t->asFilter() : std::string(target);
}

std::string sharedSubscription(std::string_view group, std::string_view filter) {
  std::string s = "$share/";
  s += group;
  s += '/';
  s += filter;
  return s;
}

std::string groupNameError(std::string_view group) {
  if (group.empty()) {
    return "must not be empty";
  }
  if (group.find_first_of("/+#") != std::string_view::npos) {
    return "must not contain '/', '+' or '#', got \"" + std::string(group) + "\"";
  }
  return encodingError(group);
}

}  // namespace mqb::config::topic

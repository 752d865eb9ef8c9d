#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>

namespace mqb::log {
namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};
std::atomic<bool> gJson{false};
std::mutex gMutex;
Sink gSink;  // guarded by gMutex

const char* name(Level l) {
  switch (l) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20 || u >= 0x7f) {
      return true;
    }
  }
  return false;
}

/// Length of the valid UTF-8 sequence starting at v[i], or 0 if it is invalid.
std::size_t utf8Length(std::string_view v, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(v[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) {
    return 1;
  } else if ((b0 & 0xe0) == 0xc0) {
    n = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > v.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(v[i + k]);
    if ((b & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  // overlong forms, surrogates, beyond U+10FFFF
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return n;
}

/// Escapes for a double-quoted string. JSON: valid UTF-8 is kept, invalid bytes become U+FFFD.
/// Text: anything outside printable ASCII is written as \xNN so a line stays one line.
void appendEscaped(std::string& out, std::string_view v, bool json) {
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    char buf[8];
    if (u < 0x20 || u == 0x7f) {
      std::snprintf(buf, sizeof buf, json ? "\\u%04x" : "\\x%02x", static_cast<unsigned>(u));
      out += buf;
      ++i;
    } else if (u < 0x80) {
      out += c;
      ++i;
    } else if (json) {
      const std::size_t n = utf8Length(v, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(v.substr(i, n));
        i += n;
      }
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
      out += buf;
      ++i;
    }
  }
}

bool endsWith(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    const char a = s[s.size() - suffix.size() + i];
    const char lowered = (a >= 'A' && a <= 'Z') ? static_cast<char>(a - 'A' + 'a') : a;
    if (lowered != suffix[i]) {
      return false;
    }
  }
  return true;
}

bool isSecretKey(std::string_view key) {
  return endsWith(key, "password") || endsWith(key, "secret") || endsWith(key, "token");
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

void setLevel(Level level) noexcept { gLevel.store(static_cast<int>(level)); }
Level level() noexcept { return static_cast<Level>(gLevel.load(std::memory_order_relaxed)); }
void setJson(bool json) noexcept { gJson.store(json); }

bool parseLevel(std::string_view s, Level& out) noexcept {
  for (Level l : {Level::Debug, Level::Info, Level::Warn, Level::Error}) {
    if (s == name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void setSink(Sink sink) {
  std::lock_guard<std::mutex> lock(gMutex);
  gSink = std::move(sink);
}

std::string format(Level level, std::string_view event, std::initializer_list<Field> fields,
                   bool json) {
  constexpr std::string_view kRedacted = "<redacted>";
  std::string line;
  line.reserve(128);
  if (json) {
    line += "{\"ts\":\"" + timestamp() + "\",\"level\":\"" + name(level) + "\",\"event\":\"";
    appendEscaped(line, event, true);
    line += '"';
    for (const auto& f : fields) {
      line += ",\"";
      appendEscaped(line, f.key, true);
      line += "\":\"";
      appendEscaped(line, isSecretKey(f.key) ? kRedacted : std::string_view(f.value), true);
      line += '"';
    }
    line += "}\n";
  } else {
    line += "ts=" + timestamp() + " level=" + name(level) + " event=";
    appendEscaped(line, event, false);
    for (const auto& f : fields) {
      line += ' ';
      appendEscaped(line, f.key, false);
      line += '=';
      const std::string_view v = isSecretKey(f.key) ? kRedacted : std::string_view(f.value);
      if (needsQuotes(v)) {
        line += '"';
        appendEscaped(line, v, false);
        line += '"';
      } else {
        line += v;
      }
    }
    line += '\n';
  }
  return line;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) noexcept {
  try {
    const std::string line = format(level, event, fields, gJson.load(std::memory_order_relaxed));
    std::lock_guard<std::mutex> lock(gMutex);
    if (gSink) {
      gSink(line);
    } else {
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  } catch (...) {
    // Logging must never take the process down (bad_alloc while formatting, a throwing sink).
  }
}

void writeEvery(Every& every, Level level, std::string_view event,
                std::initializer_list<Field> fields) noexcept {
  std::uint64_t suppressed = 0;
  if (!every.allow(&suppressed)) {
    return;
  }
  if (suppressed == 0) {
    write(level, event, fields);
    return;
  }
  try {
    // initializer_list cannot grow: format with the extra field by hand.
    std::string line = format(level, event, fields, gJson.load(std::memory_order_relaxed));
    const bool json = gJson.load(std::memory_order_relaxed);
    const std::string extra = json ? ",\"suppressed\":\"" + std::to_string(suppressed) + "\"}"
                                   : " suppressed=" + std::to_string(suppressed);
    line.pop_back();  // '\n'
    if (json) {
      line.pop_back();  // '}'
    }
    line += extra;
    line += '\n';
    std::lock_guard<std::mutex> lock(gMutex);
    if (gSink) {
      gSink(line);
    } else {
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  } catch (...) {
  }
}

bool Every::allow(std::uint64_t* suppressed) noexcept {
  return allow(std::chrono::steady_clock::now(), suppressed);
}

bool Every::allow(std::chrono::steady_clock::time_point nowTp, std::uint64_t* suppressed) noexcept {
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(nowTp.time_since_epoch()).count();
  std::int64_t next = next_.load(std::memory_order_relaxed);
  if (now >= next && next_.compare_exchange_strong(next, now + interval_.count())) {
    const std::uint64_t s = suppressed_.exchange(0);
    if (suppressed != nullptr) {
      *suppressed = s;
    }
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace mqb::log

#include "metrics/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace mqb::log {
namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};
std::atomic<bool> gJson{false};
std::mutex gMutex;

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
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void appendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
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

void write(Level level, std::string_view event, std::initializer_list<Field> fields) noexcept {
  try {
    std::string line;
    line.reserve(128);
    if (gJson.load(std::memory_order_relaxed)) {
      line += "{\"ts\":\"" + timestamp() + "\",\"level\":\"" + name(level) + "\",\"event\":\"";
      appendEscaped(line, event);
      line += '"';
      for (const auto& f : fields) {
        line += ",\"";
        appendEscaped(line, f.key);
        line += "\":\"";
        appendEscaped(line, f.value);
        line += '"';
      }
      line += "}\n";
    } else {
      line += "ts=" + timestamp() + " level=" + name(level) + " event=";
      line += event;
      for (const auto& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        if (needsQuotes(f.value)) {
          line += '"';
          appendEscaped(line, f.value);
          line += '"';
        } else {
          line += f.value;
        }
      }
      line += '\n';
    }
    std::lock_guard<std::mutex> lock(gMutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    // Logging must never take the process down (bad_alloc while formatting).
  }
}

bool Every::allow(std::uint64_t* suppressed) noexcept {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
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

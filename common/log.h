#pragma once
// Structured logging: one line per event, key=value fields (or one JSON object per line with
// --log-json). Thread-safe. Never log secrets: pass file names, not file contents.
//
//   ts=2026-11-25T09:12:01.123Z level=info event=client_connected client=edge-route1 broker=...

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace mqb::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level level) noexcept;
Level level() noexcept;
inline bool enabled(Level l) noexcept { return static_cast<int>(l) >= static_cast<int>(level()); }
void setJson(bool json) noexcept;
/// Parses debug|info|warn|error; returns false if unknown.
bool parseLevel(std::string_view s, Level& out) noexcept;

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  /// Shortest round-trip-ish form: 10 -> "10", 0.25 -> "0.25" (not "10.000000").
  Field(std::string_view k, double v);
};

/// Where finished lines go (each ends in '\n'); called under the logger's lock. Empty = stderr.
/// For tests and for embedding.
using Sink = std::function<void(std::string_view line)>;
void setSink(Sink sink);

/// Formats one event. Values are quoted/escaped as needed (text), or JSON-escaped with invalid
/// UTF-8 replaced by U+FFFD (JSON). Fields whose key ends in "password", "secret" or "token"
/// are written as "<redacted>": a safety net, not a licence to pass secrets.
std::string format(Level level, std::string_view event, std::initializer_list<Field> fields,
                   bool json);

void write(Level level, std::string_view event, std::initializer_list<Field> fields) noexcept;

inline void debug(std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Debug)) write(Level::Debug, event, f);
}
inline void info(std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Info)) write(Level::Info, event, f);
}
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Warn)) write(Level::Warn, event, f);
}
inline void error(std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Error)) write(Level::Error, event, f);
}

/// Rate limiter for repeated events: allow() is true at most once per `interval` (and reports how
/// many were suppressed since). Thread-safe.
class Every {
 public:
  explicit Every(std::chrono::milliseconds interval) : interval_(interval) {}
  bool allow(std::uint64_t* suppressed = nullptr) noexcept;
  /// Same, with an explicit time (tests inject it instead of sleeping).
  bool allow(std::chrono::steady_clock::time_point now, std::uint64_t* suppressed) noexcept;

 private:
  std::chrono::milliseconds interval_;
  std::atomic<std::int64_t> next_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

/// Logs the event if `every` allows it now, adding `suppressed=N` when earlier occurrences were
/// held back. Use one static Every per call site for errors that can repeat (reconnect loops,
/// rejected publishes):
///   static log::Every every(std::chrono::seconds(10));
///   log::errorEvery(every, "publish_failed", {{"route", name}, {"rc", rc}});
void writeEvery(Every& every, Level level, std::string_view event,
                std::initializer_list<Field> fields) noexcept;
inline void warnEvery(Every& every, std::string_view event,
                      std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Warn)) writeEvery(every, Level::Warn, event, f);
}
inline void errorEvery(Every& every, std::string_view event,
                       std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::Error)) writeEvery(every, Level::Error, event, f);
}

}  // namespace mqb::log

#pragma once
// The dead-letter store of one route: messages the bridge set aside instead of forwarding (a
// topic or property the source broker should never have sent, a message the target refuses or
// that the target drops the connection over), one file each, so that an operator can list them,
// replay them (`mqbridge deadletter`) or delete them, while the bridge runs.
//
//   <state-dir>/<connector>/<route>/deadletter/<id>.json     0600, in a 0700 directory
//
// A file is written whole (temporary file, fdatasync, rename, directory fsync): a record either
// exists complete or not at all, and survives a crash once put() returned Ok. Every byte of the
// message is kept (topic and strings in base64, so that invalid UTF-8 survives as it came).
// Bounded: put() refuses once the store holds `maxMessages` records or `maxBytes` of them (what
// an operator replayed or deleted meanwhile makes room again).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "mqtt/message.h"

namespace mqb::deadletter {

/// One message set aside, with why and where.
struct Record {
  std::string id;           ///< "<unix ms, 13 digits>-<sequence, 6 digits>": sorts by time
  std::int64_t timeMs = 0;  ///< unix ms when it was set aside
  std::string connector;
  std::string route;
  std::string direction;  ///< local-to-remote | remote-to-local
  std::string reason;     ///< metrics::DeadLetterReason's name (invalid_topic, refused, ...)
  std::string detail;     ///< what exactly (a reason code name, the broken rule)
  mqtt::Message message;  ///< exactly as it was when set aside
};

/// The JSON form of a record (one object) and back. fromJson() checks every field.
std::string toJson(const Record& r);
bool fromJson(std::string_view json, Record& r, std::string& error);

struct Limits {
  std::uint64_t maxMessages = 10000;
  std::uint64_t maxBytes = std::uint64_t{256} << 20;
};

/// The store directory of a route (names as single path components, like the spool's).
std::string directoryFor(std::string_view stateDir, std::string_view connector,
                         std::string_view route);

class Store {
 public:
  /// Opens (creating, 0700) the store in `dir` and counts what it holds.
  static common::Result<std::unique_ptr<Store>> open(std::string dir, Limits limits);

  enum class Put : std::uint8_t { Ok, Full, IoError };
  /// Assigns r.id and r.timeMs (if 0) and writes the record durably. Thread-safe.
  Put put(Record& r, std::string& error);

  const std::string& dir() const noexcept { return dir_; }
  std::uint64_t messages() const;

 private:
  Store(std::string dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}
  /// Counts what the directory holds (records replayed or deleted by `mqbridge deadletter` go).
  void recountLocked();

  std::string dir_;
  Limits limits_;
  mutable std::mutex mu_;
  std::uint64_t messages_ = 0;  // guarded by mu_: kept by put(), recounted at open and when full
  std::uint64_t bytes_ = 0;     // guarded by mu_
  std::uint32_t seq_ = 0;       // guarded by mu_
  std::int64_t lastMs_ = 0;     // guarded by mu_
};

/// Every record in `dir`, sorted by id. Files that do not parse are named in `bad` (if given)
/// and left alone; a missing directory is an empty store.
std::vector<Record> list(const std::string& dir, std::vector<std::string>* bad = nullptr);

/// Deletes record `id` from `dir`. False with `error` if it is not there.
bool remove(const std::string& dir, const std::string& id, std::string& error);

}  // namespace mqb::deadletter

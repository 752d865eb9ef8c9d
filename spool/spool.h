#pragma once
// Durable spool of one route branch: an append-only, segmented log of checksummed records
// (spool/record.h) in one directory, e.g. <state-dir>/<connector>/<route>/<branch>/.
//
//   <dir>/LOCK                      flock'ed while open: one Spool per directory
//   <dir>/<first id, 20 digits>.seg records, appended in id order
//   <dir>/<first id, 20 digits>.ack acknowledged id ranges of that segment (16-byte entries:
//                                   u64 first id, u32 count, u32 CRC-32C of the 12 bytes)
//
// A segment (and then its .ack) is deleted only when every record in it is acknowledged, dropped
// or expired, and it is no longer the one being written (ack, then delete). On open, segments are
// scanned in order and every record checksummed; a torn tail of the last segment is truncated,
// corrupted regions elsewhere are skipped by resynchronising on the next valid record, both logged
// with counts. The records not acknowledged are replayed first, in id order. Each open starts a
// new segment for appends, so ids of a torn tail are never reused in a file whose .ack names them.
//
// Expiry: each record's deadline (v5 expiry, route ttl) is kept in memory, so readers skip expired
// records without reading them, and a full spool first drops what has expired before refusing or
// dropping live messages.
//
// Durability: append() returns after write(2): the records survive a crash of the process.
// Against power loss they are safe once fdatasync'ed: at once under FlushPolicy::Always, within
// `flushInterval` under Interval, never explicitly under Never. syncedId() tells how far. Acks are
// written back every `flushInterval` (or every 4096 acks, or on flush()/close()) and never
// fsync'ed: an ack lost in a crash only causes a duplicate (at-least-once).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "metrics/route_metrics.h"
#include "pipeline/clock.h"
#include "pipeline/message.h"
#include "spool/record.h"

namespace mqb::spool {

using pipeline::Clock;
using pipeline::Message;
using pipeline::SteadyTime;
using pipeline::SystemClock;

enum class FlushPolicy : std::uint8_t {
  Always,    ///< fdatasync before each append()/appendBatch() returns
  Interval,  ///< fdatasync by a background thread every `flushInterval` if anything was written
  Never,     ///< leave it to the kernel
};

enum class OverflowPolicy : std::uint8_t {
  Block,  ///< append refuses with Full; the caller applies backpressure (stops its source)
  /// the oldest unacknowledged records are dropped (counted) to make room, including any handed
  /// out by readNext() and not acked yet (their later ack() returns false)
  DropOldest,
  DropNewest,  ///< the new message is refused with Dropped (counted)
};

struct Options {
  std::string dir;  ///< created (with parents) if missing
  /// A segment is sealed and a new one started once the next record would pass this size (a
  /// single larger record gets a segment of its own). 4 KiB .. 1 GiB.
  std::uint64_t segmentBytes = std::uint64_t{64} << 20;
  FlushPolicy flush = FlushPolicy::Interval;
  /// fdatasync period under Interval; ack write-back period under every policy.
  std::chrono::milliseconds flushInterval{100};
  std::uint64_t maxBytes = 0;     ///< unacknowledged record bytes (as encoded); 0 = no limit
  std::uint64_t maxMessages = 0;  ///< unacknowledged messages; 0 = no limit
  OverflowPolicy overflow = OverflowPolicy::Block;
  /// Route time-to-live counted from the message's received time; 0 = none. v5 message expiry
  /// applies as well, whichever comes first.
  std::chrono::milliseconds ttl{0};
  /// Steady clock: converts Message::received (which must come from the same clock) to wall time
  /// and back. Must outlive the spool.
  const Clock* clock = &SystemClock::instance();
  /// Wall clock in unix ms, for expiry across restarts. Default: the system clock read at open,
  /// advanced by `clock` (so a ManualClock moves it in tests).
  std::function<std::int64_t()> unixNowMs;
  /// Told about every message the spool drops (Overflow, Expired) with a count; called from the
  /// appending or reading thread (possibly both at once) without the spool's locks held, so it
  /// may call size()/stats(). Must be thread-safe and must not throw.
  std::function<void(metrics::DropReason, std::uint64_t)> onDrop;
  /// Start the background thread (Interval syncs, ack write-back). Tests may switch it off and
  /// call flush() instead.
  bool backgroundThread = true;
};

enum class AppendStatus : std::uint8_t {
  Ok,
  Full,      ///< Block policy: over maxMessages/maxBytes; nothing taken from this message on
  Dropped,   ///< DropNewest policy: refused and counted (Overflow)
  TooLarge,  ///< the record alone exceeds maxBytes or kMaxRecordBodyBytes; refused and counted
  IoError,   ///< write failed (disk full...); nothing of the failed write is kept
  Closed,    ///< after close()
};

std::string_view toString(AppendStatus s) noexcept;

struct AppendResult {
  AppendStatus status = AppendStatus::Ok;
  std::uint64_t id = 0;  ///< when Ok
};

struct BatchResult {
  /// Messages of the batch handled, in order: accepted ones plus refused ones (Dropped,
  /// TooLarge). Less than the batch size only when `status` is Full, IoError or Closed: the
  /// messages from index `consumed` on were not taken and may be offered again.
  std::size_t consumed = 0;
  std::size_t accepted = 0;
  AppendStatus status = AppendStatus::Ok;  ///< Ok, or why the batch stopped early
};

/// A record handed out for delivery. `msg.received` is rebuilt on the spool's clock, so the age
/// (and the remaining v5 expiry the sink must forward) is right even after a restart;
/// `msg.completion` is empty: the reader reports the outcome through ack().
struct Entry {
  std::uint64_t id = 0;
  std::int64_t receivedUnixMs = 0;
  Message msg;
};

struct SpoolSize {
  std::uint64_t messages = 0;  ///< unacknowledged
  std::uint64_t bytes = 0;     ///< their encoded size
};

struct SpoolStats {
  std::uint64_t messages = 0;  ///< unacknowledged
  std::uint64_t bytes = 0;
  std::uint64_t segments = 0;
  std::uint64_t diskBytes = 0;  ///< sum of segment file sizes (acked records included)
  std::uint64_t appended = 0;
  std::uint64_t acked = 0;           ///< by ack()
  std::uint64_t droppedOldest = 0;   ///< DropOldest
  std::uint64_t droppedNewest = 0;   ///< DropNewest and TooLarge
  std::uint64_t expired = 0;         ///< skipped by readers (v5 expiry or ttl)
  std::uint64_t corrupt = 0;         ///< records that failed their checksum when read back
  std::uint64_t recovered = 0;       ///< unacknowledged records found at open
  std::uint64_t truncatedBytes = 0;  ///< torn tail removed at open
  std::uint64_t skippedBytes = 0;    ///< corrupted regions skipped at open
  std::uint64_t lastId = 0;          ///< highest id appended (0: none)
  std::uint64_t syncedId = 0;        ///< every id <= this is fdatasync'ed
};

/// Thread-safe: one or more producers (serialised internally) may append while a consumer reads
/// and acks; designed for one of each. No method throws except open() (std::bad_alloc only).
class Spool {
 public:
  /// Opens (creating) the spool in `opts.dir` and recovers its content. Returns null with a
  /// message in `error` if the directory cannot be used or is locked by another Spool.
  static std::unique_ptr<Spool> open(Options opts, std::string& error);

  ~Spool();  ///< close()
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends one message (see BatchResult for the statuses).
  AppendResult append(const Message& m) noexcept;

  /// Appends in order with one write(2) per segment touched and, under Always, one fdatasync.
  /// `ids` (if given) is resized to the batch size; ids[i] is the id of message i, or 0 if it was
  /// refused or not reached.
  BatchResult appendBatch(std::span<const Message> msgs,
                          std::vector<std::uint64_t>* ids = nullptr) noexcept;

  /// Hands out up to `max` unacknowledged records after the read cursor, in id order, appending
  /// them to `out`, and moves the cursor past them. Expired records are acked, counted and
  /// skipped. Returns how many were appended (0: nothing to read now). At most ~4 MiB per call.
  std::size_t readNext(std::size_t max, std::vector<Entry>& out) noexcept;

  /// For a producer that hands the messages it has just appended (ids first .. first + n - 1) to
  /// the reader itself instead of having them read back: moves the read cursor past them if
  /// nothing unread is before them (the cursor stands at `first`, or only acknowledged or dropped
  /// records lie between) and they are all still there. False, and nothing changed, otherwise
  /// (read them with readNext() then).
  bool claim(std::uint64_t first, std::size_t n) noexcept;

  /// Moves the read cursor back to the oldest unacknowledged record, e.g. after the target
  /// disconnected with records in flight, so they are handed out again.
  void rewind() noexcept;

  /// Marks a record delivered. Out-of-order acks are fine. Returns false if the id is unknown or
  /// already acknowledged/dropped (harmless).
  bool ack(std::uint64_t id) noexcept;
  void ack(std::span<const std::uint64_t> ids) noexcept;

  /// Waits until readNext() may have something (an append happened since the cursor last ran
  /// dry) or `timeout` passed. For a drain thread; returns true if data is there.
  bool waitForData(std::chrono::milliseconds timeout) noexcept;
  /// Waits until the spool is below both limits, or `timeout`. For Block backpressure.
  bool waitForSpace(std::chrono::milliseconds timeout) noexcept;

  /// Writes pending acks and, unless Never, fdatasyncs the data. False on an I/O error.
  bool flush() noexcept;
  /// flush(), stops the background thread, refuses further appends. Idempotent.
  void close() noexcept;

  SpoolSize size() const noexcept;
  SpoolStats stats() const noexcept;
  /// Every id <= syncedId() survives power loss.
  std::uint64_t syncedId() const noexcept;
  const Options& options() const noexcept { return opts_; }

 private:
  // Internal types: segment.h, and the .cc file named where one file alone uses them.
  struct File;
  struct Segment;
  struct Candidate;
  struct Scan;      // recover.cc
  struct Batch;     // append.cc
  struct ReadPass;  // read.cc
  struct Pending {  // a record in writeBuf_, not written yet
    std::uint32_t size = 0;
    std::int64_t deadlineMs = 0;
  };

  explicit Spool(Options opts);

  // Opening (recover.cc, and openActive in spool.cc): single-threaded, before open() returns.
  bool recover(std::string& error);
  bool lockDir(std::string& error);
  bool loadSegment(std::uint64_t firstId, std::uint64_t upper, bool last, std::string& error);
  bool scanSegment(Segment& seg, std::size_t len, std::uint64_t upper, Scan& scan,
                   std::string& error);
  Scan scanRecords(Segment& seg, std::string_view data, std::uint64_t upper) const;
  void handleDamage(Segment& seg, const Scan& scan, bool last);
  void loadAcks(Segment& seg);
  void adoptSegment(std::unique_ptr<Segment> seg);
  bool openActive(std::string& error);  // producerMu_ held (or during open)

  // Time, limits and the segment index (spool.cc).
  std::int64_t wallNowMs() const noexcept;
  std::int64_t deadlineOf(std::int64_t receivedMs,
                          const std::optional<std::uint32_t>& expiry) const noexcept;
  bool fits(std::uint64_t messages, std::uint64_t bytes) const noexcept;  // mu_ held
  std::uint64_t purgeExpiredLocked(std::int64_t nowMs) noexcept;
  bool dropOldestLocked() noexcept;
  Segment* findLocked(std::uint64_t id) const noexcept;
  std::size_t segmentIndexLocked(std::uint64_t id) const noexcept;
  bool markDoneLocked(Segment& s, std::uint64_t id) noexcept;
  void maybeDeleteLocked(Segment* s) noexcept;
  void backgroundLoop() noexcept;
  void notifyDrops(std::uint64_t overflow, std::uint64_t expired) noexcept;

  // Appending (append.cc): producerMu_ held.
  // The steps of appendBatch(): inline (defined in append.cc, used only there) so that splitting
  // it costs no calls.
  inline void admitLocked(Batch& b);
  inline bool writeAdmitted(Batch& b);
  bool writeChunk(std::string& buf, std::vector<Pending>& recs, std::uint64_t firstId) noexcept;
  bool rotate() noexcept;
  void syncAppended() noexcept;

  // Reading and acknowledging (read.cc).
  void collectLocked(std::size_t max, std::int64_t nowMs, ReadPass& p);
  void readCandidates(ReadPass& p);
  void handOutLocked(ReadPass& p, std::int64_t wallNow, SteadyTime steadyNow,
                     std::vector<Entry>& out);
  bool flushAcksLocked() noexcept;

  Options opts_;
  std::int64_t wallBaseMs_ = 0;
  SteadyTime steadyBase_{};
  int lockFd_ = -1;
  int dirFd_ = -1;

  // Producer side: the active segment's file and where the next record goes.
  std::mutex producerMu_;
  std::uint64_t nextId_ = 1;      // guarded by producerMu_
  Segment* active_ = nullptr;     // guarded by producerMu_ (the object by mu_)
  std::uint64_t activeEnd_ = 0;   // guarded by producerMu_
  std::string writeBuf_;          // guarded by producerMu_
  std::vector<Pending> pending_;  // guarded by producerMu_

  // Shared state.
  mutable std::mutex mu_;
  std::condition_variable dataCv_;
  std::condition_variable spaceCv_;
  std::condition_variable stopCv_;
  std::deque<std::unique_ptr<Segment>> segments_;  // guarded by mu_, ordered by first id
  std::uint64_t cursor_ = 0;                       // guarded by mu_: next id to consider
  std::uint64_t liveMessages_ = 0;                 // guarded by mu_
  std::uint64_t liveBytes_ = 0;                    // guarded by mu_
  std::uint64_t diskBytes_ = 0;                    // guarded by mu_
  std::uint64_t publishedId_ = 0;                  // guarded by mu_: highest readable id
  std::uint64_t syncedId_ = 0;                     // guarded by mu_
  std::int64_t nextDeadlineMs_ = INT64_MAX;        // guarded by mu_: no live record expires earlier
  bool dirty_ = false;                             // guarded by mu_: written since last sync
  bool closed_ = false;                            // guarded by mu_
  bool stop_ = false;                              // guarded by mu_
  std::vector<std::uint64_t> pendingAcks_;         // guarded by mu_
  SpoolStats counters_;                            // guarded by mu_ (the counting fields)
  std::mutex readerMu_;                            // serialises readNext()
  std::string readBuf_;                            // guarded by readerMu_
  std::shared_ptr<File> activeFile_;               // guarded by mu_, for the background sync
  std::thread background_;
};

using SpoolPtr = std::unique_ptr<Spool>;

/// The directory of one route branch's spool: <stateDir>/<connector>/<route>/<branch>. Names are
/// used as single path components: '/', NUL and a leading '.' are replaced by '_'.
std::string spoolDir(std::string_view stateDir, std::string_view connector, std::string_view route,
                     std::uint32_t branch);

}  // namespace mqb::spool

// Opening and closing a spool, its clocks and limits, the index of segments shared by appends,
// reads and acks, and the background thread that syncs data and writes acks back.
#include "spool/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/files.h"
#include "common/log.h"
#include "spool/segment.h"

namespace mqb::spool {

namespace fs = std::filesystem;
using common::errnoText;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

// Times read back from disk are trusted only as far as their checksum: no overflow on odd values.
std::int64_t satAdd(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

}  // namespace

std::string_view toString(AppendStatus s) noexcept {
  switch (s) {
    case AppendStatus::Ok:
      return "ok";
    case AppendStatus::Full:
      return "full";
    case AppendStatus::Dropped:
      return "dropped";
    case AppendStatus::TooLarge:
      return "too_large";
    case AppendStatus::IoError:
      return "io_error";
    case AppendStatus::Closed:
      return "closed";
  }
  return "unknown";
}

std::string spoolDir(std::string_view stateDir, std::string_view connector, std::string_view route,
                     std::uint32_t branch) {
  return (fs::path(common::routeStateDir(stateDir, connector, route)) / std::to_string(branch))
      .string();
}

Spool::Spool(Options opts) : opts_(std::move(opts)) {}

std::unique_ptr<Spool> Spool::open(Options opts, std::string& error) {
  if (opts.dir.empty()) {
    error = "spool: no directory given";
    return nullptr;
  }
  if (opts.segmentBytes < 4096 || opts.segmentBytes > (std::uint64_t{1} << 30)) {
    error = "spool: segmentBytes must be within 4 KiB .. 1 GiB";
    return nullptr;
  }
  if (opts.clock == nullptr) {
    opts.clock = &SystemClock::instance();
  }
  if (opts.flushInterval.count() <= 0) {
    opts.flushInterval = milliseconds(100);
  }
  std::unique_ptr<Spool> s(new Spool(std::move(opts)));
  s->steadyBase_ = s->opts_.clock->now();
  s->wallBaseMs_ =
      duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!s->recover(error) || !s->openActive(error)) {
    return nullptr;
  }
  if (s->opts_.backgroundThread) {
    s->background_ = std::thread([p = s.get()] { p->backgroundLoop(); });
  }
  return s;
}

/// Creates the segment appends go to, its first id nextId_ (truncating any file of that name and
/// removing its .ack file), makes its name durable unless FlushPolicy::Never, and adds it to
/// segments_ as active_. False, with `error`, if it cannot be created. producerMu_ held (or
/// during open).
bool Spool::openActive(std::string& error) {
  auto seg = std::make_unique<Segment>(opts_.dir, nextId_);
  ::unlink(seg->ackPath.c_str());
  const int fd =
      ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, common::kPrivateFileMode);
  if (fd < 0) {
    error = "spool: cannot create " + seg->path + ": " + errnoText(errno);
    return false;
  }
  seg->file = std::make_shared<File>(fd);
  if (opts_.flush != FlushPolicy::Never) {
    ::fsync(dirFd_);  // make the new name durable
  }
  active_ = seg.get();
  activeEnd_ = 0;
  std::lock_guard lk(mu_);
  activeFile_ = seg->file;
  segments_.push_back(std::move(seg));
  return true;
}

Spool::~Spool() {
  close();
  if (dirFd_ >= 0) {
    ::close(dirFd_);
  }
}

/// Now on the wall clock, in unix ms: opts_.unixNowMs(), or the system clock read at open
/// advanced by `clock`.
std::int64_t Spool::wallNowMs() const noexcept {
  if (opts_.unixNowMs) {
    return opts_.unixNowMs();
  }
  return wallBaseMs_ + duration_cast<milliseconds>(opts_.clock->now() - steadyBase_).count();
}

/// Wall-clock ms at which a record received at `receivedMs` expires: the earlier of its v5
/// `expiry` and the route's ttl, INT64_MAX if neither applies. Saturates instead of overflowing.
std::int64_t Spool::deadlineOf(std::int64_t receivedMs,
                               const std::optional<std::uint32_t>& expiry) const noexcept {
  std::int64_t d = INT64_MAX;
  if (expiry) {
    d = satAdd(receivedMs, std::int64_t{*expiry} * 1000);
  }
  if (opts_.ttl.count() > 0) {
    d = std::min(d, satAdd(receivedMs, static_cast<std::int64_t>(opts_.ttl.count())));
  }
  return d;
}

/// Marks done, and counts as expired, every live record whose deadline is at or before `nowMs`;
/// deletes the sealed segments this empties and recomputes nextDeadlineMs_. Returns how many.
/// Does nothing while `nowMs` is before nextDeadlineMs_. mu_ held.
std::uint64_t Spool::purgeExpiredLocked(std::int64_t nowMs) noexcept {
  if (nowMs < nextDeadlineMs_) {
    return 0;
  }
  std::uint64_t n = 0;
  std::int64_t next = INT64_MAX;
  std::vector<Segment*> emptied;
  for (const auto& p : segments_) {
    Segment& s = *p;
    for (std::size_t i = s.firstLive; i < s.recs.size() && s.live > 0; ++i) {
      if (s.done[i] != 0) {
        continue;
      }
      if (s.recs[i].deadlineMs <= nowMs) {
        markDoneLocked(s, s.firstId + i);
        ++n;
      } else {
        next = std::min(next, s.recs[i].deadlineMs);
      }
    }
    if (s.live == 0 && s.sealed) {
      try {
        emptied.push_back(&s);
      } catch (...) {  // deleted later, by the next ack or open
      }
    }
  }
  nextDeadlineMs_ = next;
  counters_.expired += n;
  for (Segment* s : emptied) {
    maybeDeleteLocked(s);
  }
  return n;
}

/// Whether `messages` more messages of `bytes` more bytes stay within maxMessages and maxBytes.
/// mu_ held.
bool Spool::fits(std::uint64_t messages, std::uint64_t bytes) const noexcept {
  return (opts_.maxMessages == 0 || liveMessages_ + messages <= opts_.maxMessages) &&
         (opts_.maxBytes == 0 || liveBytes_ + bytes <= opts_.maxBytes);
}

/// Index in segments_ of the segment holding `id`, or else of the first one after it
/// (segments_.size() if none). mu_ held.
std::size_t Spool::segmentIndexLocked(std::uint64_t id) const noexcept {
  auto it = std::partition_point(segments_.begin(), segments_.end(),
                                 [id](const auto& s) { return s->endId() <= id; });
  return static_cast<std::size_t>(it - segments_.begin());
}

/// The segment whose id range holds `id`, or null. mu_ held.
Spool::Segment* Spool::findLocked(std::uint64_t id) const noexcept {
  const std::size_t i = segmentIndexLocked(id);
  if (i < segments_.size() && segments_[i]->firstId <= id) {
    return segments_[i].get();
  }
  return nullptr;
}

/// Marks `id` of `s` done (acked, dropped, expired or unreadable): out of the live counts, and
/// queued for the .ack write-back. False if `s` does not hold `id` or it is done already.
/// mu_ held.
bool Spool::markDoneLocked(Segment& s, std::uint64_t id) noexcept {
  const std::uint64_t idx = id - s.firstId;
  if (id < s.firstId || idx >= s.recs.size() || s.done[idx] != 0) {
    return false;
  }
  s.done[idx] = 1;
  --s.live;
  --liveMessages_;
  liveBytes_ -= s.recs[idx].size;
  while (s.firstLive < s.done.size() && s.done[s.firstLive] != 0) {
    ++s.firstLive;
  }
  try {
    pendingAcks_.push_back(id);
  } catch (...) {  // out of memory: the ack is not persisted, a restart redelivers (duplicate)
  }
  return true;
}

/// If `s` is sealed and nothing in it is live: deletes its file, then its .ack file, and removes
/// it from segments_ (`s` dangles afterwards). mu_ held.
void Spool::maybeDeleteLocked(Segment* s) noexcept {
  if (!s->sealed || s->live != 0) {
    return;
  }
  ::unlink(s->path.c_str());  // ack, then delete: data first, its acks after
  ::unlink(s->ackPath.c_str());
  diskBytes_ -= s->bytes;
  auto it =
      std::find_if(segments_.begin(), segments_.end(), [s](const auto& p) { return p.get() == s; });
  if (it != segments_.end()) {
    segments_.erase(it);
  }
}

/// Drops the oldest live record (OverflowPolicy::DropOldest), counted in droppedOldest, and
/// deletes its segment if that empties it. False if no record is live. mu_ held.
bool Spool::dropOldestLocked() noexcept {
  for (const auto& p : segments_) {
    Segment& s = *p;
    if (s.live == 0) {
      continue;
    }
    const std::uint64_t id = s.firstId + s.firstLive;
    if (markDoneLocked(s, id)) {
      ++counters_.droppedOldest;
      maybeDeleteLocked(&s);
      return true;
    }
  }
  return false;
}

bool Spool::waitForData(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock lk(mu_);
  return dataCv_.wait_for(lk, timeout, [this] {
    return closed_ || (publishedId_ != 0 && cursor_ <= publishedId_);
  }) && !closed_;
}

bool Spool::waitForSpace(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock lk(mu_);
  return spaceCv_.wait_for(lk, timeout, [this] {
    return closed_ || ((opts_.maxMessages == 0 || liveMessages_ < opts_.maxMessages) &&
                       (opts_.maxBytes == 0 || liveBytes_ < opts_.maxBytes));
  }) && !closed_;
}

bool Spool::flush() noexcept {
  std::shared_ptr<File> file;
  std::uint64_t target = 0;
  bool ok = true;
  {
    std::lock_guard lk(mu_);
    ok = flushAcksLocked();
    file = activeFile_;
    target = publishedId_;
    dirty_ = false;
  }
  if (opts_.flush != FlushPolicy::Never && file) {
    if (::fdatasync(file->fd) != 0) {
      return false;
    }
    std::lock_guard lk(mu_);
    syncedId_ = std::max(syncedId_, target);
  }
  return ok;
}

/// The background thread, until close(): every flushInterval writes acks back and, under
/// FlushPolicy::Interval, fdatasyncs the active segment (outside mu_) if anything was written
/// since the last sync, then advances syncedId_.
void Spool::backgroundLoop() noexcept {
  std::unique_lock lk(mu_);
  while (!stop_) {
    stopCv_.wait_for(lk, opts_.flushInterval, [this] { return stop_; });
    if (stop_) {
      break;
    }
    flushAcksLocked();
    if (opts_.flush != FlushPolicy::Interval || !dirty_ || !activeFile_) {
      continue;
    }
    std::shared_ptr<File> file = activeFile_;
    const std::uint64_t target = publishedId_;
    dirty_ = false;
    lk.unlock();
    const bool ok = ::fdatasync(file->fd) == 0;
    lk.lock();
    if (ok) {
      syncedId_ = std::max(syncedId_, target);
    }
  }
}

void Spool::close() noexcept {
  {
    std::lock_guard plk(producerMu_);
    std::lock_guard lk(mu_);
    if (closed_) {
      return;
    }
    closed_ = true;
    stop_ = true;
  }
  stopCv_.notify_all();
  dataCv_.notify_all();
  spaceCv_.notify_all();
  if (background_.joinable()) {
    background_.join();
  }
  {
    std::lock_guard lk(mu_);
    flushAcksLocked();
  }
  if (opts_.flush != FlushPolicy::Never) {
    std::shared_ptr<File> file;
    {
      std::lock_guard lk(mu_);
      file = activeFile_;
    }
    if (file && ::fdatasync(file->fd) == 0) {
      std::lock_guard lk(mu_);
      syncedId_ = publishedId_;
    }
  }
  if (lockFd_ >= 0) {
    ::close(lockFd_);  // releases the flock: the directory may be opened again
    lockFd_ = -1;
  }
}

/// Reports the nonzero counts to opts_.onDrop. Called without the spool's locks held.
void Spool::notifyDrops(std::uint64_t overflow, std::uint64_t expiredCount) noexcept {
  if (!opts_.onDrop) {
    return;
  }
  if (overflow > 0) {
    opts_.onDrop(metrics::DropReason::Overflow, overflow);
  }
  if (expiredCount > 0) {
    opts_.onDrop(metrics::DropReason::Expired, expiredCount);
  }
}

SpoolSize Spool::size() const noexcept {
  std::lock_guard lk(mu_);
  return {liveMessages_, liveBytes_};
}

SpoolStats Spool::stats() const noexcept {
  std::lock_guard lk(mu_);
  SpoolStats s = counters_;
  s.messages = liveMessages_;
  s.bytes = liveBytes_;
  s.segments = segments_.size();
  s.diskBytes = diskBytes_;
  s.lastId = publishedId_;
  s.syncedId = syncedId_;
  return s;
}

std::uint64_t Spool::syncedId() const noexcept {
  std::lock_guard lk(mu_);
  return syncedId_;
}

}  // namespace mqb::spool

// Appending: admission against the limits (with the overflow policy), encoding, writing to the
// active segment, starting a new segment when it is full, and the fdatasync of FlushPolicy::Always.
// Producers are serialised by producerMu_: appendBatch() takes it, the helpers here run under it.
#include "spool/spool.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/files.h"
#include "common/log.h"
#include "spool/segment.h"

namespace mqb::spool {

using common::errnoText;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

/// One appendBatch() call as it goes: admitted messages are written chunk by chunk.
struct Spool::Batch {
  Batch(std::span<const Message> m, std::vector<std::uint64_t>* i, BatchResult& r) noexcept
      : msgs(m), ids(i), res(r) {}
  std::span<const Message> msgs;
  std::vector<std::uint64_t>* ids;  ///< ids[i] for message i, if the caller wants them
  BatchResult& res;                 ///< what appendBatch() returns, filled in as it goes
  SteadyTime steadyNow{};           ///< `clock` when the batch started
  std::int64_t wallNow = 0;         ///< wall clock (unix ms) at the same moment
  std::vector<std::size_t> chunk;   ///< indices of the admitted messages not written yet
  std::size_t next = 0;             ///< first message neither admitted nor refused
  std::uint64_t overflow = 0;       ///< messages refused or dropped for room (DropReason Overflow)
  std::uint64_t expired = 0;        ///< expired records purged for room (DropReason Expired)
};

namespace {

/// Wall-clock time (unix ms) at which `m` was received, from its age on the steady clock at
/// `steadyNow`, when the wall clock read `wallNow`. A message without a received time, or one
/// from the future, counts as received now.
std::int64_t receivedUnixMs(const Message& m, SteadyTime steadyNow, std::int64_t wallNow) noexcept {
  std::int64_t received = wallNow;
  if (m.received != SteadyTime{} && m.received < steadyNow) {
    received -= duration_cast<milliseconds>(steadyNow - m.received).count();
  }
  return received;
}

/// Whether a record of `encodedBytes` is refused whatever the spool holds: its body exceeds
/// kMaxRecordBodyBytes, or it alone exceeds `maxBytes` (0: no limit).
bool tooLarge(std::uint64_t encodedBytes, std::uint64_t maxBytes) noexcept {
  return encodedBytes - kRecordHeaderBytes > kMaxRecordBodyBytes ||
         (maxBytes != 0 && encodedBytes > maxBytes);
}

}  // namespace

AppendResult Spool::append(const Message& m) noexcept {
  std::vector<std::uint64_t> ids;
  BatchResult r;
  try {
    ids.reserve(1);
  } catch (...) {
    return {AppendStatus::IoError, 0};
  }
  r = appendBatch(std::span<const Message>(&m, 1), &ids);
  if (r.accepted == 1) {
    return {AppendStatus::Ok, ids[0]};
  }
  if (r.status != AppendStatus::Ok) {
    return {r.status, 0};
  }
  // Refused without stopping the batch: dropped (DropNewest) or too large.
  return {tooLarge(encodedSize(m), opts_.maxBytes) ? AppendStatus::TooLarge : AppendStatus::Dropped,
          0};
}

BatchResult Spool::appendBatch(std::span<const Message> msgs,
                               std::vector<std::uint64_t>* ids) noexcept {
  BatchResult res;
  Batch b{msgs, ids, res};
  std::lock_guard plk(producerMu_);
  try {
    if (ids != nullptr) {
      ids->assign(msgs.size(), 0);
    }
    {
      std::lock_guard lk(mu_);
      if (closed_) {
        res.status = AppendStatus::Closed;
        return res;
      }
    }
    b.steadyNow = opts_.clock->now();
    b.wallNow = wallNowMs();
    while (b.next < msgs.size() && res.status == AppendStatus::Ok) {
      b.chunk.clear();
      {
        std::lock_guard lk(mu_);
        admitLocked(b);
      }
      if (b.chunk.empty()) {
        if (res.status == AppendStatus::Ok && b.next < msgs.size()) {
          // Cannot happen (an empty spool always has room for a record within the limits);
          // refuse rather than loop.
          std::lock_guard lk(mu_);
          ++counters_.droppedNewest;
          ++b.overflow;
          ++b.next;
        }
        continue;
      }
      if (!writeAdmitted(b)) {
        res.status = AppendStatus::IoError;
        break;
      }
    }
    if (res.status == AppendStatus::Ok || res.status == AppendStatus::Full) {
      res.consumed = b.next;
    }
  } catch (...) {  // std::bad_alloc while encoding: nothing half-written is published
    writeBuf_.clear();
    pending_.clear();
    std::lock_guard lk(mu_);
    nextId_ = active_->endId();
    res.status = AppendStatus::IoError;
  }
  if (res.accepted > 0 && opts_.flush == FlushPolicy::Always) {
    syncAppended();
  }
  notifyDrops(b.overflow, b.expired);
  return res;
}

/// Admits the messages of `b` from b.next on into b.chunk while the limits allow them together
/// with what the spool holds, applying the overflow policy to the first that does not fit:
/// expired records are purged first; then Block stops the batch (status Full), DropNewest
/// refuses it, DropOldest drops the oldest live records, and stops the chunk if that is not
/// enough (the chunk is written, then admission goes on). Too large messages are refused.
/// Refused and dropped messages are counted. Leaves b.next at the first message not handled.
/// mu_ held.
void Spool::admitLocked(Batch& b) {
  std::size_t i = b.next;
  std::uint64_t resMsgs = 0;
  std::uint64_t resBytes = 0;
  for (; i < b.msgs.size(); ++i) {
    const std::uint64_t sz = encodedSize(b.msgs[i]);
    if (tooLarge(sz, opts_.maxBytes)) {
      ++counters_.droppedNewest;
      ++b.overflow;
      continue;
    }
    if (!fits(resMsgs + 1, resBytes + sz)) {
      b.expired += purgeExpiredLocked(b.wallNow);
    }
    if (!fits(resMsgs + 1, resBytes + sz)) {
      if (opts_.overflow == OverflowPolicy::Block) {
        b.res.status = AppendStatus::Full;
        break;
      }
      if (opts_.overflow == OverflowPolicy::DropNewest) {
        ++counters_.droppedNewest;
        ++b.overflow;
        continue;
      }
      while (!fits(resMsgs + 1, resBytes + sz) && dropOldestLocked()) {
        ++b.overflow;
      }
      if (!fits(resMsgs + 1, resBytes + sz)) {
        break;  // the rest of the room is taken by this chunk: write it, then go on
      }
    }
    b.chunk.push_back(i);
    ++resMsgs;
    resBytes += sz;
  }
  b.next = i;
}

/// Encodes the messages of b.chunk with consecutive ids and writes them to the active segment,
/// starting a new segment where the next record would take a non-empty one past segmentBytes
/// (an empty segment takes a record of any size). Fills in b.ids and b.res.accepted for what was
/// written. False if a write or a new segment failed: b.res.consumed is then the first message
/// not written, and nothing of it was published.
bool Spool::writeAdmitted(Batch& b) {
  // Local copies: the compiler keeps them in registers across the calls of the loop.
  const SteadyTime steadyNow = b.steadyNow;
  const std::int64_t wallNow = b.wallNow;
  const std::uint64_t chunkFirstId = nextId_;
  std::uint64_t bufFirstId = nextId_;
  std::size_t bufFirstIndex = 0;
  bool failed = false;
  for (std::size_t c = 0; c < b.chunk.size() && !failed; ++c) {
    const Message& m = b.msgs[b.chunk[c]];
    const std::size_t sz = encodedSize(m);
    if (activeEnd_ + writeBuf_.size() > 0 &&
        activeEnd_ + writeBuf_.size() + sz > opts_.segmentBytes) {
      if (!writeChunk(writeBuf_, pending_, bufFirstId)) {
        nextId_ = bufFirstId;  // nothing of the failed write was published
        b.res.consumed = b.chunk[bufFirstIndex];
        failed = true;
        break;
      }
      if (!rotate()) {
        b.res.consumed = b.chunk[c];
        failed = true;
        break;
      }
      // a fresh segment must start exactly at the next id
      bufFirstId = nextId_;
      bufFirstIndex = c;
    }
    const std::int64_t received = receivedUnixMs(m, steadyNow, wallNow);
    const std::uint64_t id = nextId_++;
    encodeRecord(m, id, received, writeBuf_);
    pending_.push_back(
        {static_cast<std::uint32_t>(sz), deadlineOf(received, m.props.messageExpirySeconds)});
  }
  if (!failed && !writeChunk(writeBuf_, pending_, bufFirstId)) {
    nextId_ = bufFirstId;
    b.res.consumed = b.chunk[bufFirstIndex];
    failed = true;
  }
  const std::uint64_t written = nextId_ - chunkFirstId;
  for (std::size_t c = 0; c < written; ++c) {
    if (b.ids != nullptr) {
      (*b.ids)[b.chunk[c]] = chunkFirstId + c;
    }
  }
  b.res.accepted += written;
  return !failed;
}

/// Writes `buf` (the encoded records `recs`, ids firstId on) at the end of the active segment
/// and publishes them to readers. On a write error nothing is published, the file is cut back
/// where it was (a partial record left by a failed cut is a torn tail to the next open) and it
/// returns false. Either way `buf` and `recs` are left empty.
bool Spool::writeChunk(std::string& buf, std::vector<Pending>& recs,
                       std::uint64_t firstId) noexcept {
  if (buf.empty()) {
    return true;
  }
  if (!detail::writeAll(active_->file->fd, buf.data(), buf.size(), activeEnd_)) {
    const int e = errno;
    if (::ftruncate(active_->file->fd, static_cast<off_t>(activeEnd_)) != 0) {
      // The file may keep a partial record; readers never see it (not published) and a
      // restart treats it as a torn tail.
    }
    log::error("spool_write_failed", {{"dir", opts_.dir}, {"error", errnoText(e)}});
    buf.clear();
    recs.clear();
    return false;
  }
  std::uint64_t bytes = 0;
  {
    std::lock_guard lk(mu_);
    Segment& s = *active_;
    std::uint64_t off = activeEnd_;
    for (const Pending& p : recs) {
      s.recs.push_back({static_cast<std::uint32_t>(off), p.size, p.deadlineMs});
      s.done.push_back(0);
      off += p.size;
      bytes += p.size;
      nextDeadlineMs_ = std::min(nextDeadlineMs_, p.deadlineMs);
    }
    s.live += recs.size();
    s.bytes += buf.size();
    liveMessages_ += recs.size();
    liveBytes_ += bytes;
    diskBytes_ += buf.size();
    counters_.appended += recs.size();
    publishedId_ = firstId + recs.size() - 1;
    dirty_ = true;
  }
  dataCv_.notify_all();
  activeEnd_ += buf.size();
  buf.clear();
  recs.clear();
  return true;
}

/// Seals the active segment (fdatasync'ed unless FlushPolicy::Never, then deleted at once if
/// nothing in it is live) and starts a new one at nextId_. False, with the old segment still
/// active, if the new one cannot be created.
bool Spool::rotate() noexcept {
  Segment* old = active_;
  const bool sync = opts_.flush != FlushPolicy::Never;
  if (sync && ::fdatasync(old->file->fd) != 0) {
    log::error("spool_sync_failed", {{"segment", old->path}, {"error", errnoText(errno)}});
  }
  std::string error;
  bool ok = false;
  try {
    ok = openActive(error);
  } catch (...) {
    error = "out of memory";
  }
  if (!ok) {
    active_ = old;
    log::error("spool_rotate_failed", {{"dir", opts_.dir}, {"error", error}});
    return false;
  }
  std::lock_guard lk(mu_);
  old->sealed = true;
  if (sync) {
    syncedId_ = std::max(syncedId_, old->endId() - 1);
  }
  maybeDeleteLocked(old);
  return true;
}

/// fdatasyncs the active segment and, if that worked, moves syncedId_ to what was published
/// before it started (FlushPolicy::Always).
void Spool::syncAppended() noexcept {
  std::uint64_t target = 0;
  {
    std::lock_guard lk(mu_);
    target = publishedId_;
    dirty_ = false;
  }
  if (::fdatasync(active_->file->fd) == 0) {
    std::lock_guard lk(mu_);
    syncedId_ = std::max(syncedId_, target);
  } else {
    log::error("spool_sync_failed", {{"dir", opts_.dir}, {"error", errnoText(errno)}});
  }
}

}  // namespace mqb::spool

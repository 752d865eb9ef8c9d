// Reading and acknowledging: handing records out in id order (skipping the expired ones), the
// read cursor (claim, rewind), acks and their write-back to the .ack files.
#include "spool/spool.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/files.h"
#include "common/log.h"
#include "spool/segment.h"

namespace mqb::spool {

using common::errnoText;
using std::chrono::milliseconds;

/// One readNext() call as it goes: the records chosen under the lock, then read and decoded
/// outside it, then handed out under it again.
struct Spool::ReadPass {
  std::vector<Candidate> cands;   ///< live records after the cursor, in id order
  std::vector<Entry> got;         ///< got[c]: candidate c decoded (when bad[c] == 0)
  std::vector<std::uint8_t> bad;  ///< bad[c] = 1: candidate c could not be read or decoded
  std::uint64_t expired = 0;      ///< records found expired (DropReason Expired)
  std::size_t added = 0;          ///< entries appended to the caller's vector
};

namespace {

/// Acks pending write-back at which ack() writes them itself instead of leaving them to the
/// background thread.
constexpr std::size_t kAckWriteBackCount = 4096;
/// readNext() stops collecting records once their bytes reach this.
constexpr std::size_t kReadBytesPerCall = std::size_t{4} << 20;
/// Largest gap between two records of a file that one pread still reads through.
constexpr std::uint64_t kReadGapBytes = 65536;

// Times read back from disk are trusted only as far as their checksum: no overflow on odd values.
std::int64_t satSub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r = 0;
  return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? INT64_MAX : INT64_MIN) : r;
}

/// Whether a record received at `receivedUnixMs` with v5 expiry `expirySeconds` has expired at
/// `nowMs`, or has passed the route's `ttl` (0: none).
bool expired(std::int64_t receivedUnixMs, const std::optional<std::uint32_t>& expirySeconds,
             std::int64_t nowMs, std::chrono::milliseconds ttl) noexcept {
  const std::int64_t age = satSub(nowMs, receivedUnixMs);
  if (expirySeconds && age >= std::int64_t{*expirySeconds} * 1000) {
    return true;
  }
  return ttl.count() > 0 && age >= ttl.count();
}

log::Every gReadErrorLog{std::chrono::seconds(10)};
log::Every gAckErrorLog{std::chrono::seconds(10)};

}  // namespace

std::size_t Spool::readNext(std::size_t max, std::vector<Entry>& out) noexcept {
  std::lock_guard rlk(readerMu_);
  ReadPass p;
  const std::int64_t wallBefore = wallNowMs();
  try {
    {
      std::lock_guard lk(mu_);
      if (closed_) {
        return 0;
      }
      collectLocked(max, wallBefore, p);
    }
    if (p.cands.empty()) {
      if (p.expired > 0) {
        spaceCv_.notify_all();
        notifyDrops(0, p.expired);
      }
      return 0;
    }
    readCandidates(p);
    const std::int64_t wallNow = wallNowMs();
    const SteadyTime steadyNow = opts_.clock->now();
    std::lock_guard lk(mu_);
    handOutLocked(p, wallNow, steadyNow, out);
    spaceCv_.notify_all();
  } catch (...) {
    // Out of memory: hand out what we have; the cursor moved past the rest, which a rewind()
    // brings back.
  }
  notifyDrops(0, p.expired);
  return p.added;
}

/// Moves the cursor over up to `max` live records (and at most kReadBytesPerCall of them),
/// collecting them in p.cands. Records whose deadline is at or before `nowMs` are marked done
/// and counted in p.expired without being read; a sealed segment that empties is deleted.
/// mu_ held.
void Spool::collectLocked(std::size_t max, std::int64_t nowMs, ReadPass& p) {
  std::vector<Candidate>& cands = p.cands;
  std::size_t si = segmentIndexLocked(cursor_);
  std::size_t bytes = 0;
  while (si < segments_.size() && cands.size() < max && bytes < kReadBytesPerCall) {
    Segment& s = *segments_[si];
    std::uint64_t id = std::max(cursor_, s.firstId);
    for (; id < s.endId() && cands.size() < max && bytes < kReadBytesPerCall; ++id) {
      const std::uint64_t idx = id - s.firstId;
      if (s.done[idx] == 0 && s.recs[idx].deadlineMs <= nowMs) {
        markDoneLocked(s, id);  // expired: not even read
        ++counters_.expired;
        ++p.expired;
        continue;
      }
      if (s.done[idx] == 0) {
        cands.push_back({id, s.file, s.recs[idx].offset, s.recs[idx].size});
        bytes += s.recs[idx].size;
      }
    }
    cursor_ = id;
    if (id < s.endId()) {
      break;
    }
    if (s.live == 0 && s.sealed) {
      maybeDeleteLocked(&s);  // emptied by expiry: the next segment moves to index si
    } else {
      ++si;
    }
  }
}

/// Reads the bytes of p.cands, one pread per run of records of one file with gaps of at most
/// kReadGapBytes, and decodes each (checksummed again) into p.got; p.bad marks those that could
/// not be read or do not decode to the record expected. readerMu_ held (readBuf_), mu_ not.
void Spool::readCandidates(ReadPass& p) {
  const std::vector<Candidate>& cands = p.cands;
  p.got.resize(cands.size());
  p.bad.assign(cands.size(), 0);
  Record rec;
  std::size_t a = 0;
  while (a < cands.size()) {
    std::size_t b = a + 1;
    std::uint64_t end = std::uint64_t{cands[a].offset} + cands[a].size;
    while (b < cands.size() && cands[b].file == cands[a].file && cands[b].offset >= end &&
           cands[b].offset - end <= kReadGapBytes) {
      end = std::uint64_t{cands[b].offset} + cands[b].size;
      ++b;
    }
    const std::uint64_t start = cands[a].offset;
    readBuf_.resize(end - start);
    const bool readOk = detail::readAll(cands[a].file->fd, readBuf_.data(), readBuf_.size(), start);
    for (std::size_t c = a; c < b; ++c) {
      const std::string_view bytes =
          readOk ? std::string_view(readBuf_).substr(cands[c].offset - start, cands[c].size)
                 : std::string_view();
      const ReadResult r = decodeRecord(bytes, rec);
      if (r.status != ReadStatus::Ok || r.size != cands[c].size || rec.id != cands[c].id) {
        p.bad[c] = 1;
        continue;
      }
      p.got[c].id = rec.id;
      p.got[c].receivedUnixMs = rec.receivedUnixMs;
      p.got[c].msg = std::move(rec.msg);
      rec.msg = Message();
    }
    a = b;
  }
}

/// Appends to `out` the decoded records of `p` that are still live (not acked or dropped while
/// they were read), with msg.received rebuilt on the spool's clock from `wallNow`/`steadyNow`.
/// Marks done, and counts, those that were unreadable (corrupt) or have expired meanwhile
/// (p.expired). Counts in p.added as it goes, so an exception leaves it right. mu_ held.
void Spool::handOutLocked(ReadPass& p, std::int64_t wallNow, SteadyTime steadyNow,
                          std::vector<Entry>& out) {
  for (std::size_t c = 0; c < p.cands.size(); ++c) {
    const Candidate& cand = p.cands[c];
    Segment* s = findLocked(cand.id);
    if (s == nullptr || s->done[cand.id - s->firstId] != 0) {
      continue;  // acked or dropped meanwhile
    }
    if (p.bad[c] != 0) {
      ++counters_.corrupt;
      if (gReadErrorLog.allow()) {
        log::error(
            "spool_record_unreadable",
            {{"dir", opts_.dir}, {"segment", s->path}, {"id", cand.id}, {"offset", cand.offset}});
      }
      markDoneLocked(*s, cand.id);
      maybeDeleteLocked(s);
      continue;
    }
    Entry& e = p.got[c];
    if (expired(e.receivedUnixMs, e.msg.props.messageExpirySeconds, wallNow, opts_.ttl)) {
      ++counters_.expired;
      ++p.expired;
      markDoneLocked(*s, cand.id);
      maybeDeleteLocked(s);
      continue;
    }
    const std::int64_t age = std::clamp<std::int64_t>(
        satSub(wallNow, e.receivedUnixMs), 0, std::int64_t{1} << 40);  // ~35 years: no ns overflow
    e.msg.received = steadyNow - milliseconds(age);
    out.push_back(std::move(e));
    ++p.added;
  }
}

bool Spool::claim(std::uint64_t first, std::size_t n) noexcept {
  if (n == 0) {
    return false;
  }
  std::lock_guard rlk(readerMu_);
  std::lock_guard lk(mu_);
  if (closed_ || cursor_ > first || publishedId_ < first + n - 1 || segments_.empty()) {
    return false;
  }
  // Between the cursor and `first` there may only be ids that are gone (acked, dropped, or
  // before the oldest segment): a short, bounded look.
  constexpr std::uint64_t kMaxGap = 256;
  const std::uint64_t oldest = segments_.front()->firstId;
  const std::uint64_t from = std::max(cursor_, oldest);
  if (from < first && first - from > kMaxGap) {
    return false;
  }
  for (std::uint64_t id = from; id < first; ++id) {
    const Segment* s = findLocked(id);
    if (s != nullptr && id < s->endId() && s->done[id - s->firstId] == 0) {
      return false;  // unread
    }
  }
  for (std::uint64_t id = first; id < first + n;) {  // none dropped (DropOldest) or expired since
    const Segment* s = findLocked(id);
    if (s == nullptr || id >= s->endId()) {
      return false;
    }
    const std::uint64_t end = std::min<std::uint64_t>(s->endId(), first + n);
    for (; id < end; ++id) {
      if (s->done[id - s->firstId] != 0) {
        return false;
      }
    }
  }
  cursor_ = first + n;
  return true;
}

void Spool::rewind() noexcept {
  {
    std::lock_guard lk(mu_);
    cursor_ = 0;
  }
  dataCv_.notify_all();
}

bool Spool::ack(std::uint64_t id) noexcept {
  bool known = false;
  {
    std::lock_guard lk(mu_);
    Segment* s = findLocked(id);
    if (s != nullptr && markDoneLocked(*s, id)) {
      known = true;
      ++counters_.acked;
      maybeDeleteLocked(s);
    }
    if (pendingAcks_.size() >= kAckWriteBackCount) {
      flushAcksLocked();
    }
  }
  spaceCv_.notify_all();
  return known;
}

void Spool::ack(std::span<const std::uint64_t> ids) noexcept {
  {
    std::lock_guard lk(mu_);
    for (std::uint64_t id : ids) {
      Segment* s = findLocked(id);
      if (s != nullptr && markDoneLocked(*s, id)) {
        ++counters_.acked;
        maybeDeleteLocked(s);
      }
    }
    if (pendingAcks_.size() >= kAckWriteBackCount) {
      flushAcksLocked();
    }
  }
  spaceCv_.notify_all();
}

/// Appends the ids marked done since the last call (pendingAcks_, which it empties) to the .ack
/// files of their segments, as ranges of consecutive ids; ids of deleted segments need none.
/// Never fsync'ed: a lost ack only causes a duplicate. False (logged, rate-limited) if a file
/// could not be opened or written, or memory ran out. mu_ held.
bool Spool::flushAcksLocked() noexcept {
  if (pendingAcks_.empty()) {
    return true;
  }
  bool ok = true;
  try {
    std::sort(pendingAcks_.begin(), pendingAcks_.end());
    std::string buf;
    Segment* cur = nullptr;
    auto writeOut = [&] {
      if (cur == nullptr || buf.empty()) {
        buf.clear();
        return;
      }
      if (!cur->ackFile) {
        const int fd = ::open(cur->ackPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                              common::kPrivateFileMode);
        if (fd >= 0) {
          cur->ackFile = std::make_unique<File>(fd);
        }
      }
      if (!cur->ackFile || !detail::appendAll(cur->ackFile->fd, buf.data(), buf.size())) {
        ok = false;
      }
      buf.clear();
    };
    std::size_t i = 0;
    while (i < pendingAcks_.size()) {
      const std::uint64_t first = pendingAcks_[i];
      Segment* s = findLocked(first);
      std::size_t j = i + 1;
      while (s != nullptr && j < pendingAcks_.size() &&
             pendingAcks_[j] == pendingAcks_[j - 1] + 1 && pendingAcks_[j] < s->endId() &&
             j - i < 0xFFFFFFFFu) {
        ++j;
      }
      if (s != cur) {
        writeOut();
        cur = s;
      }
      if (s != nullptr) {  // null: the segment is gone, its acks need no record
        detail::putAckEntry(buf, first, static_cast<std::uint32_t>(j - i));
      }
      i = j;
    }
    writeOut();
  } catch (...) {
    ok = false;
  }
  pendingAcks_.clear();
  if (!ok && gAckErrorLog.allow()) {
    log::warn("spool_ack_write_failed", {{"dir", opts_.dir}, {"error", errnoText(errno)}});
  }
  return ok;
}

}  // namespace mqb::spool

// Opening a spool directory: taking its lock, and reading back what a previous run left there.
// Every segment is scanned in id order and every record checksummed. A torn tail of the last
// segment is truncated; corrupted regions elsewhere are skipped by resynchronising on the next
// valid record. The .ack files mark what was delivered. Segments with nothing left to deliver are
// deleted. Runs single-threaded inside Spool::open(), so no lock is taken.
#include "spool/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "common/files.h"
#include "common/log.h"
#include "spool/segment.h"

namespace mqb::spool {

namespace fs = std::filesystem;
using common::errnoText;
using detail::kAckEntryBytes;
using detail::kNameDigits;

/// What scanning a segment's bytes found besides the records it indexed.
struct Spool::Scan {
  std::size_t skipped = 0;  ///< bytes of corrupted regions followed by a valid record
  std::size_t tail = 0;     ///< bytes after the last valid record that start none
  ReadStatus tailStatus = ReadStatus::End;  ///< why the tail does not parse as a record
};

namespace {

/// Ids per segment the index accepts (a record with an id further from the first is corrupt).
constexpr std::uint64_t kMaxIdsPerSegment = std::uint64_t{1} << 28;

/// "<kNameDigits digits><ext>" -> id; false for any other name.
bool parseName(const std::string& name, const char* ext, std::uint64_t& id) {
  if (name.size() != kNameDigits + 4 || name.compare(kNameDigits, 4, ext) != 0) {
    return false;
  }
  const char* b = name.data();
  auto [p, ec] = std::from_chars(b, b + kNameDigits, id);
  return ec == std::errc() && p == b + kNameDigits;
}

/// Lists the first ids of the segments in `dir` into `segIds`, in increasing order, and deletes
/// the .ack files whose segment is gone (left over from a deletion cut short). False, with
/// `error`, if the directory cannot be listed.
bool listSegments(const std::string& dir, std::vector<std::uint64_t>& segIds, std::string& error) {
  std::error_code ec;
  std::vector<std::uint64_t> ackIds;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::path(dir), ec)) {
    const std::string name = e.path().filename().string();
    std::uint64_t id = 0;
    if (parseName(name, ".seg", id)) {
      segIds.push_back(id);
    } else if (parseName(name, ".ack", id)) {
      ackIds.push_back(id);
    }
  }
  if (ec) {
    error = "spool: cannot list " + dir + ": " + ec.message();
    return false;
  }
  std::sort(segIds.begin(), segIds.end());
  for (std::uint64_t id : ackIds) {
    if (!std::binary_search(segIds.begin(), segIds.end(), id)) {
      ::unlink((fs::path(dir) / detail::segName(id, ".ack")).c_str());
    }
  }
  return true;
}

/// The whole content of the file `fd`; empty if it is empty or cannot be read.
std::string readWholeFile(int fd) {
  std::string buf;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    buf.resize(static_cast<std::size_t>(st.st_size));
    if (!detail::readAll(fd, buf.data(), buf.size(), 0)) {
      buf.clear();
    }
  }
  return buf;
}

}  // namespace

/// Takes the directory (lockDir()) and rebuilds the index from the segments found there, oldest
/// first: live counts and bytes, the next id, the earliest deadline; deletes the segments with
/// nothing left to deliver. False, with `error`, if the directory or a segment cannot be used.
bool Spool::recover(std::string& error) {
  std::vector<std::uint64_t> segIds;
  if (!lockDir(error) || !listSegments(opts_.dir, segIds, error)) {
    return false;
  }
  for (std::size_t k = 0; k < segIds.size(); ++k) {
    const bool last = k + 1 == segIds.size();
    const std::uint64_t upper = last ? ~std::uint64_t{0} : segIds[k + 1];
    if (!loadSegment(segIds[k], upper, last, error)) {
      return false;
    }
  }

  // Nothing left to deliver in a segment: delete it (it will never be appended to again).
  for (std::size_t i = 0; i < segments_.size();) {
    Segment* s = segments_[i].get();
    if (s->live == 0) {
      maybeDeleteLocked(s);
    } else {
      ++i;
    }
  }
  publishedId_ = nextId_ - 1;
  syncedId_ = publishedId_;
  counters_.recovered = liveMessages_;
  if (!segIds.empty()) {
    log::info("spool_recovered", {{"dir", opts_.dir},
                                  {"segments", segments_.size()},
                                  {"messages", liveMessages_},
                                  {"bytes", liveBytes_},
                                  {"truncated_bytes", counters_.truncatedBytes},
                                  {"skipped_bytes", counters_.skippedBytes}});
  }
  return true;
}

/// Creates the directory (private: messages may be sensitive), takes its LOCK with flock (one
/// Spool per directory) and opens the directory itself, to fsync new names. False, with `error`,
/// if any step fails.
bool Spool::lockDir(std::string& error) {
  const fs::path dir(opts_.dir);
  std::error_code ec;
  if (!common::makePrivateDirs(opts_.dir, ec)) {
    error = "spool: cannot create " + opts_.dir + ": " + ec.message();
    return false;
  }
  lockFd_ = ::open((dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, common::kPrivateFileMode);
  if (lockFd_ < 0) {
    error = "spool: cannot open " + (dir / "LOCK").string() + ": " + errnoText(errno);
    return false;
  }
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    error = "spool: " + opts_.dir + " is in use by another spool (LOCK held)";
    return false;
  }
  dirFd_ = ::open(opts_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd_ < 0) {
    error = "spool: cannot open " + opts_.dir + ": " + errnoText(errno);
    return false;
  }
  return true;
}

/// Opens the segment whose first id is `firstId` (sealed: each open appends to a new segment),
/// indexes its records with ids below `upper` (the next segment's first id), repairs or skips
/// what is damaged (the tail is truncated only if it is the `last` segment), applies its acks
/// and adds it to segments_. False, with `error`, if the file cannot be opened, stat'ed or mapped.
bool Spool::loadSegment(std::uint64_t firstId, std::uint64_t upper, bool last, std::string& error) {
  auto seg = std::make_unique<Segment>(opts_.dir, firstId);
  seg->sealed = true;
  const int fd = ::open(seg->path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    error = "spool: cannot open " + seg->path + ": " + errnoText(errno);
    return false;
  }
  seg->file = std::make_shared<File>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "spool: cannot stat " + seg->path + ": " + errnoText(errno);
    return false;
  }
  const auto len = static_cast<std::size_t>(st.st_size);
  Scan scan;
  if (len > 0 && !scanSegment(*seg, len, upper, scan, error)) {
    return false;
  }
  seg->bytes = len;
  handleDamage(*seg, scan, last);
  loadAcks(*seg);
  adoptSegment(std::move(seg));
  return true;
}

/// Maps the `len` (> 0) bytes of `seg`'s file and indexes them with scanRecords() into `scan`.
/// False, with `error`, if the file cannot be mapped.
bool Spool::scanSegment(Segment& seg, std::size_t len, std::uint64_t upper, Scan& scan,
                        std::string& error) {
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, seg.file->fd, 0);
  if (map == MAP_FAILED) {
    error = "spool: cannot map " + seg.path + ": " + errnoText(errno);
    return false;
  }
  scan = scanRecords(seg, std::string_view(static_cast<const char*>(map), len), upper);
  ::munmap(map, len);
  return true;
}

/// Indexes in `seg` each valid record of `data` (the segment's bytes) whose id continues the
/// segment and stays below `upper`; ids passed over are marked done (lost to corruption). A
/// corrupted region is skipped up to the next valid record; what follows the last valid record
/// without starting one is the tail. Returns the sizes of both.
Spool::Scan Spool::scanRecords(Segment& seg, std::string_view data, std::uint64_t upper) const {
  Scan scan;
  std::size_t off = 0;
  while (off < data.size()) {
    std::uint64_t id = 0;
    std::int64_t receivedMs = 0;
    std::optional<std::uint32_t> expiry;
    const ReadResult r = checkRecord(data.substr(off), &id, &receivedMs, &expiry);
    if (r.status == ReadStatus::Ok && id >= seg.endId() && id < upper &&
        id - seg.firstId < kMaxIdsPerSegment && off + r.size <= 0xFFFFFFFFu) {
      while (seg.endId() < id) {  // ids lost to corruption
        seg.recs.push_back({});
        seg.done.push_back(1);
      }
      seg.recs.push_back({static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(r.size),
                          deadlineOf(receivedMs, expiry)});
      seg.done.push_back(0);
      off += r.size;
      continue;
    }
    const std::size_t next = findNextRecord(data, off + 1);
    if (next == std::string_view::npos) {
      scan.tail = data.size() - off;
      scan.tailStatus = r.status == ReadStatus::Ok ? ReadStatus::BadBody : r.status;
      break;
    }
    scan.skipped += next - off;
    off = next;
  }
  return scan;
}

/// Counts and logs what `scan` of `seg` could not use. The tail of the `last` segment is a torn
/// write: truncated away (counted in truncatedBytes). Elsewhere, or if truncating fails, it is
/// left in place and counted in skippedBytes like the skipped regions.
void Spool::handleDamage(Segment& seg, const Scan& scan, bool last) {
  if (scan.skipped > 0) {
    counters_.skippedBytes += scan.skipped;
    log::warn("spool_corrupt_region",
              {{"dir", opts_.dir}, {"segment", seg.path}, {"skipped_bytes", scan.skipped}});
  }
  if (scan.tail == 0) {
    return;
  }
  const std::uint64_t kept = seg.bytes - scan.tail;
  if (last && ::ftruncate(seg.file->fd, static_cast<off_t>(kept)) == 0) {
    seg.bytes = kept;
    counters_.truncatedBytes += scan.tail;
    log::warn("spool_torn_tail_truncated", {{"dir", opts_.dir},
                                            {"segment", seg.path},
                                            {"records_kept", seg.recs.size()},
                                            {"bytes_removed", scan.tail},
                                            {"reason", toString(scan.tailStatus)}});
  } else {
    counters_.skippedBytes += scan.tail;
    log::warn("spool_corrupt_tail", {{"dir", opts_.dir},
                                     {"segment", seg.path},
                                     {"bytes", scan.tail},
                                     {"reason", toString(scan.tailStatus)}});
  }
}

/// Marks done the records of `seg` that its .ack file names (none if there is no such file or it
/// cannot be read). Entries count up to the first torn or corrupted one, which ends the file and
/// is cut off.
void Spool::loadAcks(Segment& seg) {
  const int afd = ::open(seg.ackPath.c_str(), O_RDWR | O_CLOEXEC);
  if (afd < 0) {
    return;
  }
  File af(afd);
  const std::string buf = readWholeFile(afd);
  std::size_t good = 0;
  for (; good + kAckEntryBytes <= buf.size(); good += kAckEntryBytes) {
    std::uint64_t first = 0;
    std::uint32_t count = 0;
    if (!detail::getAckEntry(buf.data() + good, first, count)) {
      break;
    }
    const std::uint64_t lo = std::max(first, seg.firstId);
    const std::uint64_t hi = std::min(first + count, seg.endId());
    for (std::uint64_t id = lo; id < hi; ++id) {
      seg.done[id - seg.firstId] = 1;
    }
  }
  if (good != buf.size()) {
    log::warn("spool_ack_tail_truncated",
              {{"dir", opts_.dir}, {"file", seg.ackPath}, {"bytes", buf.size() - good}});
    if (::ftruncate(afd, static_cast<off_t>(good)) != 0) {
      log::warn("spool_ack_truncate_failed", {{"file", seg.ackPath}});
    }
  }
}

/// Counts the live records of the recovered `seg` into the spool's totals (and its own `live`,
/// `firstLive`), moves nextId_ past it and appends it to segments_ (which it must follow in id
/// order).
void Spool::adoptSegment(std::unique_ptr<Segment> seg) {
  for (std::size_t i = 0; i < seg->recs.size(); ++i) {
    if (seg->done[i] == 0) {
      ++seg->live;
      liveBytes_ += seg->recs[i].size;
      nextDeadlineMs_ = std::min(nextDeadlineMs_, seg->recs[i].deadlineMs);
    }
  }
  while (seg->firstLive < seg->done.size() && seg->done[seg->firstLive] != 0) {
    ++seg->firstLive;
  }
  liveMessages_ += seg->live;
  diskBytes_ += seg->bytes;
  nextId_ = std::max(nextId_, seg->endId());
  segments_.push_back(std::move(seg));
}

}  // namespace mqb::spool

#pragma once
// Internal to spool/: the in-memory index of one segment, the file handle readers share, the
// naming of segment and .ack files, the .ack entry format and the I/O helpers of the spool's
// sources (spool.cc, recover.cc, append.cc, read.cc). Nothing outside spool/ includes it.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "spool/crc32c.h"
#include "spool/spool.h"

namespace mqb::spool {

/// An open descriptor, closed with its last owner. Readers hold a segment's file while they pread
/// outside the lock, so deleting the segment meanwhile does not close it under them.
struct Spool::File {
  int fd = -1;
  explicit File(int f) noexcept : fd(f) {}
  ~File() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
};

/// One segment file and the index of its records: ids firstId .. endId() - 1, each at an offset
/// of the file, with its size, deadline and whether it is done. Guarded by Spool::mu_.
struct Spool::Segment {
  struct Rec {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    std::int64_t deadlineMs = INT64_MAX;  // wall-clock ms at which it expires
  };
  /// Names the files of the segment whose first id is `first` in the directory `dir`.
  Segment(const std::string& dir, std::uint64_t first);

  std::uint64_t firstId = 0;
  std::string path;
  std::string ackPath;
  std::shared_ptr<File> file;
  std::unique_ptr<File> ackFile;   // opened on the first ack write-back
  std::uint64_t bytes = 0;         // file length (published records, plus skipped garbage)
  std::vector<Rec> recs;           // index: id - firstId
  std::vector<std::uint8_t> done;  // 1: acked, dropped, expired, or absent (corrupted)
  std::uint64_t live = 0;          // records not done
  std::size_t firstLive = 0;       // every index below is done (where drop-oldest and purges start)
  bool sealed = false;             // no longer appended to: deleted once nothing in it is live
  std::uint64_t endId() const noexcept { return firstId + recs.size(); }
};

/// A live record chosen by readNext(), to be read and decoded outside the lock.
struct Spool::Candidate {
  std::uint64_t id = 0;
  std::shared_ptr<File> file;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

namespace detail {

/// Digits of the id in a segment's file names.
inline constexpr std::size_t kNameDigits = 20;
/// Bytes of one .ack entry: u64 first id, u32 count, u32 CRC-32C of the 12 bytes before it.
inline constexpr std::size_t kAckEntryBytes = 16;

/// "<first id, zero-padded to kNameDigits digits><ext>", e.g. ext ".seg" or ".ack".
inline std::string segName(std::uint64_t id, const char* ext) {
  std::string s = std::to_string(id);
  return std::string(kNameDigits - std::min(kNameDigits, s.size()), '0') + s + ext;
}

/// Appends the .ack entry for ids first .. first + count - 1 to `out`.
inline void putAckEntry(std::string& out, std::uint64_t first, std::uint32_t count) {
  char e[kAckEntryBytes];
  std::memcpy(e, &first, 8);
  std::memcpy(e + 8, &count, 4);
  const std::uint32_t crc = crc32c(0, e, 12);
  std::memcpy(e + 12, &crc, 4);
  out.append(e, kAckEntryBytes);
}

/// Decodes the kAckEntryBytes at `e`; false (and `first`, `count` untouched) if its checksum
/// does not match.
inline bool getAckEntry(const char* e, std::uint64_t& first, std::uint32_t& count) noexcept {
  std::uint32_t crc = 0;
  std::memcpy(&crc, e + 12, 4);
  if (crc32c(0, e, 12) != crc) {
    return false;
  }
  std::memcpy(&first, e, 8);
  std::memcpy(&count, e + 8, 4);
  return true;
}

/// Writes all `n` bytes at `offset`, retrying on EINTR and short writes; false (errno set) on
/// an error, with an unknown part written.
inline bool writeAll(int fd, const char* p, std::size_t n, std::uint64_t offset) noexcept {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return true;
}

/// Like writeAll(), at the file's current position (its end, for an O_APPEND file).
inline bool appendAll(int fd, const char* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

/// Reads exactly `n` bytes at `offset`, retrying on EINTR and short reads; false on an error or
/// if the file ends first.
inline bool readAll(int fd, char* p, std::size_t n, std::uint64_t offset) noexcept {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

}  // namespace detail

inline Spool::Segment::Segment(const std::string& dir, std::uint64_t first)
    : firstId(first),
      path((std::filesystem::path(dir) / detail::segName(first, ".seg")).string()),
      ackPath((std::filesystem::path(dir) / detail::segName(first, ".ack")).string()) {}

}  // namespace mqb::spool

#pragma once
// Binary encoding of one spooled message. Layout (all integers little-endian):
//
//   header  u32 magic 'MQSR' | u32 body length | u32 CRC-32C over (magic, length, body)
//   body    u8 version (1) | u8 flags | u64 id | i64 received unix ms | u64 seq | u32 branch
//           | str topic | str payload | [str contentType] | [u8 payloadFormat]
//           | [u32 messageExpirySeconds] | [str responseTopic] | [str correlationData]
//           | u32 user property count | (str key, str value)...
//   str = u32 length + bytes; flags: bit0 retain, bits1-2 qos, bits3-7 which optional
//   properties are present (in the order above).
//
// The checksum is CRC-32C (Castagnoli, spool/crc32c.h), not zlib's CRC-32. A record is
// returned only when its header is sane, the whole body is present, the checksum matches and the
// body parses exactly to its end; anything else is reported, never returned as data.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/message.h"

namespace mqb::spool {

using pipeline::Clock;
using pipeline::Message;
using pipeline::Properties;
using pipeline::SteadyTime;
using pipeline::SystemClock;
using pipeline::UserProperty;

inline constexpr std::uint32_t kRecordMagic = 0x5253514Du;  // "MQSR" in file order
inline constexpr std::size_t kRecordHeaderBytes = 12;
inline constexpr std::uint8_t kRecordVersion = 1;
/// Largest body accepted (MQTT's own limit is 256 MiB per packet).
inline constexpr std::size_t kMaxRecordBodyBytes = std::size_t{512} << 20;

/// A decoded record. `msg.completion` is empty and `msg.received`/`notBefore` are not stored: the
/// spool derives `received` from `receivedUnixMs`.
struct Record {
  std::uint64_t id = 0;             ///< spool-assigned, > 0, increasing in a spool
  std::int64_t receivedUnixMs = 0;  ///< wall-clock time the bridge took the message
  Message msg;
};

enum class ReadStatus : std::uint8_t {
  Ok,
  End,          ///< no bytes left (a clean end)
  Truncated,    ///< fewer bytes than a header or than the header's length: a torn tail
  BadMagic,     ///< not the start of a record
  BadLength,    ///< length below the fixed body or above kMaxRecordBodyBytes
  BadChecksum,  ///< CRC mismatch: torn or corrupted write
  BadBody,      ///< checksum fine but fields inconsistent (unknown version, overruns, qos 3...)
};

std::string_view toString(ReadStatus s) noexcept;

/// Bytes encodeRecord() will append for `m`.
std::size_t encodedSize(const Message& m) noexcept;

/// Appends the record for `m` to `out`. Precondition: encodedSize(m) - kRecordHeaderBytes <=
/// kMaxRecordBodyBytes (the spool checks). Throws only std::bad_alloc.
void encodeRecord(const Message& m, std::uint64_t id, std::int64_t receivedUnixMs,
                  std::string& out);

struct ReadResult {
  ReadStatus status = ReadStatus::End;
  std::size_t size = 0;  ///< bytes of the record (header + body) when Ok
};

/// Decodes the record at the start of `bytes` into `out` (whose strings are reused). On any
/// status other than Ok, `out` is unspecified. Never reads outside `bytes`, whatever they hold.
/// Throws only std::bad_alloc.
ReadResult decodeRecord(std::string_view bytes, Record& out);

/// Same checks as decodeRecord without building the message; reports id, received time and v5
/// message expiry.
ReadResult checkRecord(std::string_view bytes, std::uint64_t* id = nullptr,
                       std::int64_t* receivedUnixMs = nullptr,
                       std::optional<std::uint32_t>* expirySeconds = nullptr) noexcept;

/// Offset of the first valid record at or after `from`, or std::string_view::npos. Used to
/// resynchronise after a corrupted region.
std::size_t findNextRecord(std::string_view bytes, std::size_t from) noexcept;

/// Iterates the records of a buffer in order and stops at the first problem, which it reports.
class RecordReader {
 public:
  explicit RecordReader(std::string_view bytes) noexcept : bytes_(bytes) {}
  /// Ok and advances, or End at a clean end, or the error (and stays put).
  ReadStatus next(Record& out);
  /// Offset of the next record to read (= bytes of complete, valid records so far).
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::string_view bytes_;
  std::size_t offset_ = 0;
};

}  // namespace mqb::spool

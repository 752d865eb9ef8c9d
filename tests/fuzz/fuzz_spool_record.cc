// libFuzzer target: the spool record reader on arbitrary bytes. Besides "no crash, no
// out-of-bounds read" (ASan), it checks that a record is returned only when it is exactly what
// the encoder writes for its content (the encoding is canonical), that the validate-only path
// agrees with the decoding one, and that resynchronisation only ever lands on a valid record.
// A second pass reseals the input (magic, length, checksum fixed up) so that mutations reach the
// body parser instead of stopping at the checksum.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "spool/crc32c.h"
#include "spool/record.h"

using namespace mqb::spool;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Record rec;
  RecordReader reader(bytes);
  std::string again;
  while (true) {
    const std::size_t at = reader.offset();
    const ReadStatus st = reader.next(rec);
    std::uint64_t id = 0;
    const ReadResult check = checkRecord(bytes.substr(at), &id);
    if (check.status != st) {
      __builtin_trap();  // validate-only and full decode disagree
    }
    if (st != ReadStatus::Ok) {
      if (reader.offset() != at) {
        __builtin_trap();  // a failed read must not advance
      }
      const std::size_t next = findNextRecord(bytes, at + 1);
      if (next != std::string_view::npos &&
          (next <= at || checkRecord(bytes.substr(next)).status != ReadStatus::Ok)) {
        __builtin_trap();
      }
      break;
    }
    if (id != rec.id || rec.id == 0 || rec.msg.qos > 2) {
      __builtin_trap();
    }
    again.clear();
    encodeRecord(rec.msg, rec.id, rec.receivedUnixMs, again);
    if (again != bytes.substr(at, reader.offset() - at)) {
      __builtin_trap();  // returned data that is not what the writer would have written
    }
  }

  // Pass 2: the whole input as the body of one correctly framed record.
  if (size < kRecordHeaderBytes || size - kRecordHeaderBytes > kMaxRecordBodyBytes) {
    return 0;
  }
  std::string sealed(bytes);
  const auto len = static_cast<std::uint32_t>(size - kRecordHeaderBytes);
  std::memcpy(sealed.data(), &kRecordMagic, 4);
  std::memcpy(sealed.data() + 4, &len, 4);
  std::uint32_t crc = crc32c(0, sealed.data(), 8);
  crc = crc32c(crc, sealed.data() + kRecordHeaderBytes, len);
  std::memcpy(sealed.data() + 8, &crc, 4);
  const ReadResult r = decodeRecord(sealed, rec);
  if (r.status == ReadStatus::Ok) {
    again.clear();
    encodeRecord(rec.msg, rec.id, rec.receivedUnixMs, again);
    if (again != sealed || checkRecord(sealed).status != ReadStatus::Ok) {
      __builtin_trap();
    }
  } else if (r.status != ReadStatus::BadLength && r.status != ReadStatus::BadBody) {
    __builtin_trap();  // framing is right by construction: only the body can be wrong
  } else if (checkRecord(sealed).status != r.status) {
    __builtin_trap();
  }
  return 0;
}

// libFuzzer target: the spool record reader on arbitrary bytes. Besides "no crash, no
// out-of-bounds read" (ASan), it checks that a record is returned only when it is exactly what
// the encoder writes for its content (the encoding is canonical), that the validate-only path
// agrees with the decoding one, and that resynchronisation only ever lands on a valid record.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/spool/record.h"

using namespace mqb::pipeline::spool;

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
  return 0;
}

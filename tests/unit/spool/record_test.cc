#include "spool/record.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "spool/crc32c.h"

namespace mqb::spool {
namespace {

Message fullMessage() {
  Message m;
  m.topic = "plant/a/line-1/temp";
  m.payload = std::string("\0\x01binary\xff payload", 17);
  m.qos = 2;
  m.retain = true;
  m.props.user = {{"k", "v1"}, {"k", "v2"}, {"", ""}, {"hop", "mqbridge"}};
  m.props.contentType = "application/json";
  m.props.payloadFormat = 1;
  m.props.messageExpirySeconds = 3600;
  m.props.responseTopic = "reply/to";
  m.props.correlationData = std::string("\0corr\0", 6);
  m.seq = 0x0123456789abcdefULL;
  m.branch = 7;
  return m;
}

void expectSameContent(const Message& a, const Message& b) {
  EXPECT_EQ(a.topic, b.topic);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.qos, b.qos);
  EXPECT_EQ(a.retain, b.retain);
  EXPECT_EQ(a.props, b.props);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.branch, b.branch);
}

TEST(Crc32c, MatchesTheStandardCheckValueAndThePortableVersion) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32cPortable(0, "123456789", 9), 0xE3069283u);
  std::mt19937 rng(42);
  std::string buf(1000, '\0');
  for (char& c : buf) {
    c = static_cast<char>(rng());
  }
  for (std::size_t off = 0; off < 9; ++off) {
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 500u, 991u}) {
      EXPECT_EQ(crc32c(0, buf.data() + off, len), crc32cPortable(0, buf.data() + off, len));
    }
  }
  // Incremental == one shot.
  EXPECT_EQ(crc32c(crc32c(0, buf.data(), 100), buf.data() + 100, 900), crc32c(0, buf.data(), 1000));
}

TEST(Record, RoundTripsEveryField) {
  const Message m = fullMessage();
  std::string buf;
  encodeRecord(m, 42, 1764061200123, buf);
  EXPECT_EQ(buf.size(), encodedSize(m));
  Record r;
  const ReadResult res = decodeRecord(buf, r);
  ASSERT_EQ(res.status, ReadStatus::Ok);
  EXPECT_EQ(res.size, buf.size());
  EXPECT_EQ(r.id, 42u);
  EXPECT_EQ(r.receivedUnixMs, 1764061200123);
  expectSameContent(r.msg, m);
  EXPECT_FALSE(r.msg.completion);
}

TEST(Record, RoundTripsAMinimalMessageAndClearsReusedFields) {
  Message m;
  m.topic = "t";
  std::string buf;
  encodeRecord(m, 1, -5, buf);
  Record r;
  r.msg = fullMessage();  // decoding must overwrite everything, optional fields included
  ASSERT_EQ(decodeRecord(buf, r).status, ReadStatus::Ok);
  EXPECT_EQ(r.receivedUnixMs, -5);
  expectSameContent(r.msg, m);
  EXPECT_TRUE(r.msg.props.empty());
}

TEST(Record, EveryTruncationIsReportedNeverReturned) {
  std::string buf;
  encodeRecord(fullMessage(), 9, 1, buf);
  Record r;
  EXPECT_EQ(decodeRecord(std::string_view(), r).status, ReadStatus::End);
  for (std::size_t n = 1; n < buf.size(); ++n) {
    const ReadStatus s = decodeRecord(std::string_view(buf).substr(0, n), r).status;
    EXPECT_EQ(s, ReadStatus::Truncated) << "prefix of " << n << " bytes";
    EXPECT_EQ(checkRecord(std::string_view(buf).substr(0, n)).status, ReadStatus::Truncated);
  }
}

TEST(Record, EveryFlippedBitIsDetected) {
  std::string buf;
  encodeRecord(fullMessage(), 9, 1, buf);
  Record r;
  for (std::size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = buf;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      const ReadStatus s = decodeRecord(bad, r).status;
      EXPECT_NE(s, ReadStatus::Ok) << "byte " << i << " bit " << bit;
      if (i >= 8) {  // past magic and length only the checksum can tell
        EXPECT_EQ(s, ReadStatus::BadChecksum) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(Record, ConsistentChecksumButInvalidBodyIsRejected) {
  Message m;
  m.topic = "t";
  std::string buf;
  encodeRecord(m, 3, 0, buf);
  auto reseal = [](std::string& b) {
    std::uint32_t crc = crc32c(0, b.data(), 8);
    crc = crc32c(crc, b.data() + kRecordHeaderBytes, b.size() - kRecordHeaderBytes);
    std::memcpy(b.data() + 8, &crc, 4);
  };
  Record r;
  std::string qos3 = buf;
  qos3[kRecordHeaderBytes + 1] = static_cast<char>(qos3[kRecordHeaderBytes + 1] | 0x06);
  reseal(qos3);
  EXPECT_EQ(decodeRecord(qos3, r).status, ReadStatus::BadBody);
  std::string version = buf;
  version[kRecordHeaderBytes] = 2;
  reseal(version);
  EXPECT_EQ(decodeRecord(version, r).status, ReadStatus::BadBody);
  std::string idZero = buf;
  std::memset(idZero.data() + kRecordHeaderBytes + 2, 0, 8);
  reseal(idZero);
  EXPECT_EQ(decodeRecord(idZero, r).status, ReadStatus::BadBody);
  std::string topicOverrun = buf;  // topic length points past the body
  const std::uint32_t huge = 1000;
  std::memcpy(topicOverrun.data() + kRecordHeaderBytes + 30, &huge, 4);
  reseal(topicOverrun);
  EXPECT_EQ(decodeRecord(topicOverrun, r).status, ReadStatus::BadBody);
  std::string badLength = buf;
  const std::uint32_t tooBig = kMaxRecordBodyBytes + 1;
  std::memcpy(badLength.data() + 4, &tooBig, 4);
  EXPECT_EQ(decodeRecord(badLength, r).status, ReadStatus::BadLength);
}

TEST(Record, ReaderStopsAtTheFirstBadRecordAndResynchronises) {
  std::string buf;
  Message m;
  m.topic = "a";
  for (std::uint64_t id = 1; id <= 3; ++id) {
    m.payload = std::string(id * 10, 'x');
    encodeRecord(m, id, 0, buf);
  }
  const std::size_t good = buf.size();
  buf += "garbage!MQSRnot a record";
  const std::size_t resumeAt = buf.size();
  encodeRecord(m, 4, 0, buf);
  RecordReader reader(buf);
  Record r;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    ASSERT_EQ(reader.next(r), ReadStatus::Ok);
    EXPECT_EQ(r.id, id);
  }
  EXPECT_EQ(reader.next(r), ReadStatus::BadMagic);
  EXPECT_EQ(reader.offset(), good);
  EXPECT_EQ(findNextRecord(buf, good), resumeAt);
  EXPECT_EQ(findNextRecord(buf, resumeAt + 1), std::string_view::npos);
}

TEST(Record, ArbitraryBytesNeverDecodeAndNeverCrash) {
  std::mt19937 rng(7);
  std::string valid;
  encodeRecord(fullMessage(), 5, 5, valid);
  Record r;
  for (int i = 0; i < 20000; ++i) {
    std::string b;
    if (i % 2 == 0) {  // random garbage
      b.resize(rng() % 200);
      for (char& c : b) {
        c = static_cast<char>(rng());
      }
    } else {  // a valid record with a few random bytes changed
      b = valid;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
        b[rng() % b.size()] = static_cast<char>(rng());
      }
      if (b == valid) {
        continue;
      }
    }
    EXPECT_NE(decodeRecord(b, r).status, ReadStatus::Ok);
  }
}

// The seed corpus of the fuzz_spool_record target (tests/fuzz/corpus/): checked here, written to
// $MQB_WRITE_FUZZ_SEEDS when set.
TEST(Record, WritesFuzzSeeds) {
  std::vector<std::pair<std::string, std::string>> seeds;
  Message minimal;
  minimal.topic = "t";
  std::string b;
  encodeRecord(minimal, 1, 0, b);
  seeds.emplace_back("minimal", b);
  b.clear();
  encodeRecord(fullMessage(), 2, 1764061200123, b);
  seeds.emplace_back("all_properties", b);
  const std::string full = b;
  b.clear();
  for (std::uint64_t id = 3; id <= 5; ++id) {
    minimal.payload = std::string(id, 'p');
    encodeRecord(minimal, id, static_cast<std::int64_t>(id), b);
  }
  seeds.emplace_back("three_records", b);
  seeds.emplace_back("torn", b + full.substr(0, full.size() / 2));
  for (const auto& [name, bytes] : seeds) {
    RecordReader reader(bytes);
    Record r;
    int n = 0;
    while (reader.next(r) == ReadStatus::Ok) {
      ++n;
    }
    EXPECT_GE(n, 1) << name;
    if (const char* dir = std::getenv("MQB_WRITE_FUZZ_SEEDS")) {
      std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
    }
  }
}

}  // namespace
}  // namespace mqb::spool

#include "spool/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "tests/unit/spool/spool_test_util.h"

namespace mqb::spool {
namespace {

using pipeline::ManualClock;

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::filesWith;
using testing::numbered;
using testing::TempDir;

Options baseOptions(const TempDir& d) {
  Options o;
  o.dir = d.str();
  o.flush = FlushPolicy::Never;
  o.backgroundThread = false;
  return o;
}

SpoolPtr openOrFail(Options o) {
  std::string err;
  SpoolPtr s = Spool::open(std::move(o), err);
  EXPECT_TRUE(s) << err;
  return s;
}

std::vector<Entry> readAll(Spool& s) {
  std::vector<Entry> out;
  while (s.readNext(1000, out) > 0) {
  }
  return out;
}

std::vector<std::uint64_t> idsOf(const std::vector<Entry>& es) {
  std::vector<std::uint64_t> ids;
  for (const Entry& e : es) {
    ids.push_back(e.id);
  }
  return ids;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {  // [from, to]
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = from; i <= to; ++i) {
    v.push_back(i);
  }
  return v;
}

std::string readFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(Spool, RoundTripsEveryFieldAndRebuildsTheReceivedTime) {
  TempDir d;
  ManualClock clock;
  Options o = baseOptions(d);
  o.clock = &clock;
  o.unixNowMs = [&clock] {
    return std::int64_t{1'700'000'000'000} +
           std::chrono::duration_cast<milliseconds>(clock.now().time_since_epoch()).count();
  };
  SpoolPtr s = openOrFail(o);
  Message m;
  m.topic = "a/b";
  m.payload = std::string("\0\xff", 2);
  m.qos = 1;
  m.retain = true;
  m.props.user = {{"x", "1"}, {"x", "2"}};
  m.props.contentType = "text/plain";
  m.props.payloadFormat = 0;
  m.props.messageExpirySeconds = 100;
  m.props.responseTopic = "r";
  m.props.correlationData = std::string("\0c", 2);
  m.seq = 77;
  m.branch = 3;
  m.received = clock.now() - seconds(2);
  const std::int64_t expectReceived = o.unixNowMs() - 2000;
  const AppendResult r = s->append(m);
  ASSERT_EQ(r.status, AppendStatus::Ok);
  EXPECT_EQ(r.id, 1u);
  clock.advance(seconds(3));
  std::vector<Entry> got;
  ASSERT_EQ(s->readNext(10, got), 1u);
  const Entry& e = got[0];
  EXPECT_EQ(e.id, 1u);
  EXPECT_EQ(e.receivedUnixMs, expectReceived);
  EXPECT_EQ(e.msg.topic, m.topic);
  EXPECT_EQ(e.msg.payload, m.payload);
  EXPECT_EQ(e.msg.qos, 1);
  EXPECT_TRUE(e.msg.retain);
  EXPECT_EQ(e.msg.props, m.props);
  EXPECT_EQ(e.msg.seq, 77u);
  EXPECT_EQ(e.msg.branch, 3u);
  EXPECT_EQ(e.msg.received, clock.now() - seconds(5));
  EXPECT_EQ(s->size().messages, 1u);
  EXPECT_EQ(s->size().bytes, encodedSize(m));
  EXPECT_TRUE(s->ack(1));
  EXPECT_FALSE(s->ack(1));
  EXPECT_EQ(s->size().messages, 0u);
  EXPECT_EQ(s->size().bytes, 0u);
}

TEST(Spool, ReplaysInOrderAcrossSegments) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 4096;
  SpoolPtr s = openOrFail(o);
  std::vector<Message> batch;
  for (std::uint64_t n = 1; n <= 500; ++n) {
    batch.push_back(numbered(n));
  }
  std::vector<std::uint64_t> ids;
  const BatchResult br = s->appendBatch(batch, &ids);
  EXPECT_EQ(br.status, AppendStatus::Ok);
  EXPECT_EQ(br.accepted, 500u);
  EXPECT_EQ(br.consumed, 500u);
  EXPECT_EQ(ids, range(1, 500));
  EXPECT_GE(filesWith(d.path(), ".seg").size(), 10u);
  std::vector<Entry> got;
  EXPECT_EQ(s->readNext(7, got), 7u);  // partial reads continue where they stopped
  while (s->readNext(50, got) > 0) {
  }
  ASSERT_EQ(got.size(), 500u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, i + 1);
    EXPECT_EQ(got[i].msg.seq, i + 1);
    EXPECT_EQ(got[i].msg.payload, numbered(i + 1).payload);
  }
  EXPECT_EQ(s->readNext(10, got), 0u);
}

TEST(Spool, DeletesASegmentOnlyWhenEveryRecordInItIsAcked) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 4096;
  SpoolPtr s = openOrFail(o);
  for (std::uint64_t n = 1; n <= 100; ++n) {
    ASSERT_EQ(s->append(numbered(n)).status, AppendStatus::Ok);
  }
  const auto segs = filesWith(d.path(), ".seg");
  ASSERT_GE(segs.size(), 3u);
  const std::string first = segs[0];
  const std::uint64_t perSegment = std::stoull(segs[1]) - 1;  // ids 1..perSegment in the first
  // Ack the first segment out of order, all but its first record.
  for (std::uint64_t id = perSegment; id >= 2; --id) {
    EXPECT_TRUE(s->ack(id));
  }
  s->flush();
  EXPECT_TRUE(fs::exists(d.path() / first));
  EXPECT_EQ(filesWith(d.path(), ".seg").size(), segs.size());
  EXPECT_TRUE(s->ack(1));
  EXPECT_FALSE(fs::exists(d.path() / first));
  EXPECT_FALSE(fs::exists(d.path() / fs::path(first).replace_extension(".ack")));
  EXPECT_EQ(filesWith(d.path(), ".seg").size(), segs.size() - 1);
  // A later segment acked completely before an earlier one goes away on its own.
  const std::uint64_t third = std::stoull(segs[2]);
  for (std::uint64_t id = std::stoull(segs[1]); id < third; ++id) {
    EXPECT_TRUE(s->ack(id));
  }
  EXPECT_FALSE(fs::exists(d.path() / segs[1]));
  // The active segment stays even when fully acked.
  for (std::uint64_t id = third; id <= 100; ++id) {
    s->ack(id);
  }
  EXPECT_EQ(s->size().messages, 0u);
  EXPECT_EQ(filesWith(d.path(), ".seg").size(), 1u);
  EXPECT_EQ(s->stats().acked, 100u);
}

TEST(Spool, RestartReplaysExactlyTheUnackedRecordsInOrderBeforeNewOnes) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 4096;
  std::set<std::uint64_t> unacked;
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 300; ++n) {
      ASSERT_EQ(s->append(numbered(n)).status, AppendStatus::Ok);
      unacked.insert(n);
    }
    std::vector<Entry> got = readAll(*s);
    ASSERT_EQ(got.size(), 300u);
    std::mt19937 rng(3);
    std::shuffle(got.begin(), got.end(), rng);
    for (std::size_t i = 0; i < 200; ++i) {  // random, out-of-order acks
      EXPECT_TRUE(s->ack(got[i].id));
      unacked.erase(got[i].id);
    }
    s->close();  // writes the acks back
  }
  SpoolPtr s = openOrFail(o);
  EXPECT_EQ(s->stats().recovered, 100u);
  EXPECT_EQ(s->size().messages, 100u);
  ASSERT_EQ(s->append(numbered(1000)).status, AppendStatus::Ok);
  const std::vector<Entry> replay = readAll(*s);
  ASSERT_EQ(replay.size(), 101u);
  std::vector<std::uint64_t> expect(unacked.begin(), unacked.end());
  expect.push_back(301);
  EXPECT_EQ(idsOf(replay), expect);
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(replay[i].msg.payload, numbered(replay[i].id).payload);
  }
  EXPECT_EQ(replay[100].msg.seq, 1000u);
}

TEST(Spool, AcksWrittenBackDuringRunAreHonouredAfterAnUncleanStop) {
  TempDir d;
  Options o = baseOptions(d);
  o.dir = (d.path() / "live").string();
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 10; ++n) {
      s->append(numbered(n));
    }
    readAll(*s);
    for (std::uint64_t id = 1; id <= 6; ++id) {
      s->ack(id);
    }
    ASSERT_TRUE(s->flush());
    // Crash simulation: copy the directory as it is now, while the spool is still open.
    fs::copy(o.dir, d.path() / "crash", fs::copy_options::recursive);
  }
  o.dir = (d.path() / "crash").string();
  SpoolPtr s = openOrFail(o);
  EXPECT_EQ(idsOf(readAll(*s)), range(7, 10));
}

TEST(Spool, RewindHandsOutUnackedRecordsAgain) {
  TempDir d;
  SpoolPtr s = openOrFail(baseOptions(d));
  for (std::uint64_t n = 1; n <= 5; ++n) {
    s->append(numbered(n));
  }
  std::vector<Entry> got;
  ASSERT_EQ(s->readNext(3, got), 3u);
  s->ack(2);
  s->rewind();
  EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{1, 3, 4, 5}));
}

TEST(Spool, ClaimHandsAppendedRecordsToTheProducerOnlyWhenNothingUnreadIsBeforeThem) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 4096;  // claims across a segment boundary
  SpoolPtr s = openOrFail(o);
  std::vector<std::uint64_t> ids;
  std::vector<Message> batch;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    batch.push_back(numbered(n));
  }
  ASSERT_EQ(s->appendBatch(batch, &ids).accepted, 3u);
  EXPECT_FALSE(s->claim(2, 2));  // id 1 is unread before them
  EXPECT_TRUE(s->claim(1, 3));   // a fresh spool: the cursor stands before the first segment
  std::vector<Entry> got;
  EXPECT_EQ(s->readNext(10, got), 0u);  // claimed: not handed out again
  EXPECT_FALSE(s->claim(1, 3));         // not twice
  EXPECT_FALSE(s->claim(4, 1));         // not appended yet
  // Records left unread stay with the reader; a claim behind them fails.
  ASSERT_EQ(s->append(numbered(4)).id, 4u);
  ASSERT_EQ(s->append(numbered(5)).id, 5u);
  EXPECT_FALSE(s->claim(5, 1));
  EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{4, 5}));
  // Many records, spanning several segments, in one claim.
  batch.clear();
  for (std::uint64_t n = 6; n <= 205; ++n) {
    batch.push_back(numbered(n));
  }
  ASSERT_EQ(s->appendBatch(batch, &ids).accepted, 200u);
  ASSERT_GT(filesWith(d.path(), ".seg").size(), 2u);
  EXPECT_TRUE(s->claim(6, 200));
  EXPECT_EQ(s->readNext(10, got), 0u);
  // Claimed records are acked like read ones; a rewind hands out what is not acked.
  for (std::uint64_t id = 1; id <= 205; ++id) {
    if (id != 100) {
      EXPECT_TRUE(s->ack(id));
    }
  }
  EXPECT_EQ(s->size().messages, 1u);
  s->rewind();
  EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{100}));
  // After the rewind the cursor is past everything: a new append can be claimed again, and an
  // acknowledged gap before it does not stand in the way.
  ASSERT_EQ(s->append(numbered(206)).id, 206u);
  EXPECT_TRUE(s->claim(206, 1));
  EXPECT_FALSE(s->claim(207, 0));
}

// The last record of the last segment cut at every byte: every complete record survives, the
// torn one is never returned, and the file is cut back to the last complete record.
TEST(Spool, TornTailAtEveryOffsetKeepsAllCompleteRecords) {
  TempDir d;
  Options o = baseOptions(d);
  o.dir = (d.path() / "orig").string();
  o.segmentBytes = 4096;
  constexpr std::uint64_t kCount = 80;
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= kCount; ++n) {
      Message m = numbered(n);
      m.props.user = {{"n", std::to_string(n)}};
      ASSERT_EQ(s->append(m).status, AppendStatus::Ok);
    }
  }
  const std::string lastSeg = filesWith(o.dir, ".seg").back();
  const std::string content = readFile(fs::path(o.dir) / lastSeg);
  RecordReader reader(content);
  Record rec;
  std::size_t lastStart = 0;
  while (true) {
    const std::size_t at = reader.offset();
    if (reader.next(rec) != ReadStatus::Ok) {
      break;
    }
    lastStart = at;
  }
  ASSERT_EQ(rec.id, kCount);
  ASSERT_EQ(reader.offset(), content.size());
  for (std::size_t cut = lastStart; cut < content.size(); ++cut) {
    const fs::path dir = d.path() / ("cut" + std::to_string(cut));
    fs::copy(o.dir, dir, fs::copy_options::recursive);
    fs::resize_file(dir / lastSeg, cut);
    Options co = o;
    co.dir = dir.string();
    SpoolPtr s = openOrFail(co);
    EXPECT_EQ(s->stats().truncatedBytes, cut - lastStart) << "cut at " << cut;
    EXPECT_EQ(fs::file_size(dir / lastSeg), lastStart) << "cut at " << cut;
    const std::vector<Entry> got = readAll(*s);
    ASSERT_EQ(idsOf(got), range(1, kCount - 1)) << "cut at " << cut;
    for (const Entry& e : got) {
      ASSERT_EQ(e.msg.payload, numbered(e.id).payload);
      ASSERT_EQ(e.msg.props.user.at(0).value, std::to_string(e.id));
    }
    s.reset();
    fs::remove_all(dir);
  }
}

TEST(Spool, AnAckOfATornRecordDoesNotSwallowTheMessageThatReusesItsId) {
  TempDir d;
  Options o = baseOptions(d);
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 5; ++n) {
      s->append(numbered(n));
    }
    readAll(*s);
    s->ack(5);
  }
  const std::string seg = filesWith(d.path(), ".seg").back();
  fs::resize_file(d.path() / seg, fs::file_size(d.path() / seg) - 3);  // record 5 torn
  {
    SpoolPtr s = openOrFail(o);
    EXPECT_EQ(s->append(numbered(99)).id, 5u);
    EXPECT_EQ(idsOf(readAll(*s)), range(1, 5));
  }
  SpoolPtr s = openOrFail(o);
  const std::vector<Entry> got = readAll(*s);
  ASSERT_EQ(idsOf(got), range(1, 5));
  EXPECT_EQ(got.back().msg.seq, 99u);
}

TEST(Spool, AFlippedByteIsDetectedAndOnlyThatRecordIsLost) {
  TempDir d;
  Options o = baseOptions(d);
  std::size_t recordBytes = 0;
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 10; ++n) {
      s->append(numbered(n));
    }
    recordBytes = s->size().bytes / 10;
  }
  const fs::path seg = d.path() / filesWith(d.path(), ".seg").back();
  std::string content = readFile(seg);
  content[4 * recordBytes + 40] ^= 0x10;  // inside record 5
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << content;
  SpoolPtr s = openOrFail(o);
  EXPECT_EQ(s->stats().skippedBytes, recordBytes);
  const std::vector<Entry> got = readAll(*s);
  EXPECT_EQ(idsOf(got), (std::vector<std::uint64_t>{1, 2, 3, 4, 6, 7, 8, 9, 10}));
  for (const Entry& e : got) {
    EXPECT_EQ(e.msg.payload, numbered(e.id).payload);
  }
}

TEST(Spool, ATornEarlierSegmentLosesOnlyItsTornRecord) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 4096;
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 60; ++n) {
      s->append(numbered(n));
    }
  }
  const auto segs = filesWith(d.path(), ".seg");
  ASSERT_GE(segs.size(), 2u);
  const std::uint64_t secondFirst = std::stoull(segs[1]);
  const fs::path first = d.path() / segs[0];
  const std::uintmax_t before = fs::file_size(first);
  fs::resize_file(first, before - 5);  // its last record (secondFirst - 1) torn
  SpoolPtr s = openOrFail(o);
  std::vector<std::uint64_t> expect = range(1, secondFirst - 2);
  for (std::uint64_t id = secondFirst; id <= 60; ++id) {
    expect.push_back(id);
  }
  EXPECT_EQ(idsOf(readAll(*s)), expect);
  EXPECT_EQ(s->stats().truncatedBytes, 0u);  // only the last segment is cut back
  EXPECT_GT(s->stats().skippedBytes, 0u);
}

TEST(Spool, ATornAckFileKeepsTheAcksBeforeTheTear) {
  TempDir d;
  Options o = baseOptions(d);
  {
    SpoolPtr s = openOrFail(o);
    for (std::uint64_t n = 1; n <= 10; ++n) {
      s->append(numbered(n));
    }
    s->ack(std::vector<std::uint64_t>{1, 2, 3});
    s->flush();
    s->ack(std::vector<std::uint64_t>{5});
  }
  const fs::path ack =
      d.path() / fs::path(filesWith(d.path(), ".seg").back()).replace_extension(".ack");
  ASSERT_EQ(fs::file_size(ack), 32u);  // two entries: [1,3] and [5]
  fs::resize_file(ack, 27);            // the second one torn
  SpoolPtr s = openOrFail(o);
  EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(fs::file_size(ack), 16u);
}

TEST(Spool, WaitForDataWakesOnAppend) {
  TempDir d;
  SpoolPtr s = openOrFail(baseOptions(d));
  EXPECT_FALSE(s->waitForData(milliseconds(1)));
  std::thread producer([&] { s->append(numbered(1)); });
  EXPECT_TRUE(s->waitForData(seconds(30)));
  producer.join();
  std::vector<Entry> got;
  EXPECT_EQ(s->readNext(10, got), 1u);
  EXPECT_FALSE(s->waitForData(milliseconds(1)));
}

TEST(Spool, CorruptionAfterOpenIsCaughtByTheReadersChecksum) {
  TempDir d;
  SpoolPtr s = openOrFail(baseOptions(d));
  for (std::uint64_t n = 1; n <= 10; ++n) {
    s->append(numbered(n));
  }
  const std::size_t recordBytes = s->size().bytes / 10;
  const fs::path seg = d.path() / filesWith(d.path(), ".seg").back();
  const int fd = ::open(seg.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const char x = 'X';
  ASSERT_EQ(::pwrite(fd, &x, 1, static_cast<off_t>(2 * recordBytes + 50)), 1);
  ::close(fd);
  const std::vector<Entry> got = readAll(*s);
  EXPECT_EQ(idsOf(got), (std::vector<std::uint64_t>{1, 2, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(s->stats().corrupt, 1u);
  EXPECT_EQ(s->size().messages, 9u);
}

struct DropCounter {
  std::atomic<std::uint64_t> overflow{0};
  std::atomic<std::uint64_t> expired{0};
  std::function<void(metrics::DropReason, std::uint64_t)> fn() {
    return [this](metrics::DropReason r, std::uint64_t n) {
      (r == metrics::DropReason::Expired ? expired : overflow) += n;
    };
  }
};

TEST(Spool, BlockPolicyRefusesWithFullAndResumesAfterAcks) {
  TempDir d;
  Options o = baseOptions(d);
  o.maxMessages = 10;
  SpoolPtr s = openOrFail(o);
  std::vector<Message> batch;
  for (std::uint64_t n = 1; n <= 15; ++n) {
    batch.push_back(numbered(n));
  }
  std::vector<std::uint64_t> ids;
  BatchResult r = s->appendBatch(batch, &ids);
  EXPECT_EQ(r.status, AppendStatus::Full);
  EXPECT_EQ(r.accepted, 10u);
  EXPECT_EQ(r.consumed, 10u);
  EXPECT_EQ(ids[9], 10u);
  EXPECT_EQ(ids[10], 0u);
  EXPECT_EQ(s->append(numbered(16)).status, AppendStatus::Full);
  EXPECT_FALSE(s->waitForSpace(milliseconds(1)));
  s->ack(std::vector<std::uint64_t>{1, 2, 3});
  EXPECT_TRUE(s->waitForSpace(milliseconds(1)));
  r = s->appendBatch(std::span<const Message>(batch).subspan(10), &ids);
  EXPECT_EQ(r.status, AppendStatus::Full);
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(r.consumed, 3u);
  const SpoolStats st = s->stats();
  EXPECT_EQ(st.messages, 10u);
  EXPECT_EQ(st.droppedNewest + st.droppedOldest, 0u);
  EXPECT_EQ(idsOf(readAll(*s)), range(4, 13));
}

TEST(Spool, BytesLimitCountsEncodedRecordBytes) {
  TempDir d;
  Options o = baseOptions(d);
  const std::uint64_t rec = encodedSize(numbered(1));
  o.maxBytes = rec * 4 + rec / 2;
  SpoolPtr s = openOrFail(o);
  for (std::uint64_t n = 1; n <= 4; ++n) {
    EXPECT_EQ(s->append(numbered(n)).status, AppendStatus::Ok);
  }
  EXPECT_EQ(s->append(numbered(5)).status, AppendStatus::Full);
  EXPECT_EQ(s->size().bytes, rec * 4);
  Message big = numbered(6, 1000);
  EXPECT_EQ(s->append(big).status, AppendStatus::TooLarge);
  EXPECT_EQ(s->stats().droppedNewest, 1u);
}

TEST(Spool, DropNewestRefusesAndCountsEachMessage) {
  TempDir d;
  DropCounter drops;
  Options o = baseOptions(d);
  o.maxMessages = 10;
  o.overflow = OverflowPolicy::DropNewest;
  o.onDrop = drops.fn();
  SpoolPtr s = openOrFail(o);
  std::vector<Message> batch;
  for (std::uint64_t n = 1; n <= 15; ++n) {
    batch.push_back(numbered(n));
  }
  std::vector<std::uint64_t> ids;
  const BatchResult r = s->appendBatch(batch, &ids);
  EXPECT_EQ(r.status, AppendStatus::Ok);
  EXPECT_EQ(r.consumed, 15u);
  EXPECT_EQ(r.accepted, 10u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 0u), 5);
  EXPECT_EQ(s->append(numbered(16)).status, AppendStatus::Dropped);
  EXPECT_EQ(s->stats().droppedNewest, 6u);
  EXPECT_EQ(drops.overflow.load(), 6u);
  const std::vector<Entry> got = readAll(*s);
  EXPECT_EQ(idsOf(got), range(1, 10));
  EXPECT_EQ(got.back().msg.seq, 10u);
}

TEST(Spool, DropOldestMakesRoomAndCountsEachDroppedRecord) {
  TempDir d;
  DropCounter drops;
  Options o = baseOptions(d);
  o.maxMessages = 10;
  o.overflow = OverflowPolicy::DropOldest;
  o.segmentBytes = 4096;
  o.onDrop = drops.fn();
  SpoolPtr s = openOrFail(o);
  std::vector<Message> batch;
  for (std::uint64_t n = 1; n <= 25; ++n) {
    batch.push_back(numbered(n));
  }
  const BatchResult r = s->appendBatch(batch);  // the batch itself overflows: chunked
  EXPECT_EQ(r.status, AppendStatus::Ok);
  EXPECT_EQ(r.accepted, 25u);
  for (std::uint64_t n = 26; n <= 60; ++n) {
    ASSERT_EQ(s->append(numbered(n)).status, AppendStatus::Ok);
  }
  const SpoolStats st = s->stats();
  EXPECT_EQ(st.messages, 10u);
  EXPECT_EQ(st.droppedOldest, 50u);
  EXPECT_EQ(drops.overflow.load(), 50u);
  EXPECT_EQ(idsOf(readAll(*s)), range(51, 60));
  // Segments holding only dropped records are gone.
  EXPECT_LE(filesWith(d.path(), ".seg").size(), 2u);
  // Dropping is persistent.
  s.reset();
  SpoolPtr again = openOrFail(o);
  EXPECT_EQ(idsOf(readAll(*again)), range(51, 60));
}

TEST(Spool, ExpiredMessagesAreSkippedCountedAndAcked) {
  TempDir d;
  ManualClock clock;
  DropCounter drops;
  Options o = baseOptions(d);
  o.clock = &clock;
  o.onDrop = drops.fn();
  SpoolPtr s = openOrFail(o);
  Message a = numbered(1);
  a.props.messageExpirySeconds = 5;
  a.received = clock.now();
  Message b = numbered(2);
  b.props.messageExpirySeconds = 10;
  b.received = clock.now();
  Message c = numbered(3);
  c.received = clock.now();
  Message old = numbered(4);
  old.props.messageExpirySeconds = 5;
  old.received = clock.now() - seconds(4);  // 4 s old when spooled
  for (const Message* m : {&a, &b, &c, &old}) {
    ASSERT_EQ(s->append(*m).status, AppendStatus::Ok);
  }
  clock.advance(milliseconds(999));
  std::vector<Entry> got;
  EXPECT_EQ(s->readNext(10, got), 4u);  // `old` is 4.999 s old: not yet expired
  s->rewind();
  got.clear();
  clock.advance(milliseconds(4001));  // 5 s after a was received
  EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(s->stats().expired, 2u);
  EXPECT_EQ(drops.expired.load(), 2u);
  EXPECT_EQ(s->size().messages, 2u);
  EXPECT_FALSE(s->ack(1));  // already acked by expiry
}

TEST(Spool, AFullSpoolMakesRoomByDroppingExpiredRecordsFirst) {
  TempDir d;
  ManualClock clock;
  DropCounter drops;
  Options o = baseOptions(d);
  o.clock = &clock;
  o.onDrop = drops.fn();
  o.maxMessages = 3;
  o.ttl = milliseconds(1000);
  o.segmentBytes = 4096;
  SpoolPtr s = openOrFail(o);
  for (std::uint64_t n = 1; n <= 3; ++n) {
    Message m = numbered(n, 2000);  // two per segment
    m.received = clock.now();
    ASSERT_EQ(s->append(m).status, AppendStatus::Ok);
  }
  Message next = numbered(4);
  next.received = clock.now();
  EXPECT_EQ(s->append(next).status, AppendStatus::Full);
  const std::size_t segsBefore = filesWith(d.path(), ".seg").size();
  clock.advance(milliseconds(1000));
  next.received = clock.now();
  EXPECT_EQ(s->append(next).status, AppendStatus::Ok);
  EXPECT_EQ(s->stats().expired, 3u);
  EXPECT_EQ(drops.expired.load(), 3u);
  EXPECT_EQ(drops.overflow.load(), 0u);
  EXPECT_LT(filesWith(d.path(), ".seg").size(), segsBefore);  // fully expired segments go
  const std::vector<Entry> got = readAll(*s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].msg.seq, 4u);
}

TEST(Spool, RouteTtlAppliesAndExpiryHoldsAcrossARestart) {
  TempDir d;
  ManualClock clock;
  std::atomic<std::int64_t> wall{1'800'000'000'000};
  Options o = baseOptions(d);
  o.clock = &clock;
  o.unixNowMs = [&wall] { return wall.load(); };
  o.ttl = milliseconds(60'000);
  {
    SpoolPtr s = openOrFail(o);
    Message m = numbered(1);
    m.received = clock.now();
    s->append(m);
    Message e = numbered(2);
    e.props.messageExpirySeconds = 30;
    e.received = clock.now();
    s->append(e);
  }
  wall += 31'000;  // the bridge was down for 31 s
  {
    SpoolPtr s = openOrFail(o);
    EXPECT_EQ(idsOf(readAll(*s)), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(s->stats().expired, 1u);
  }
  wall += 30'000;  // 61 s: past the route ttl
  SpoolPtr s = openOrFail(o);
  EXPECT_TRUE(readAll(*s).empty());
  EXPECT_EQ(s->stats().expired, 1u);
  EXPECT_EQ(s->size().messages, 0u);
}

TEST(Spool, DirectoryLayoutKeepsNamesInsideTheStateDir) {
  EXPECT_EQ(spoolDir("/var/lib/mqb", "bridge", "first-route", 2),
            "/var/lib/mqb/bridge/first-route/2");
  EXPECT_EQ(spoolDir("/s", "..", "a/b", 0), "/s/_./a_b/0");
  EXPECT_EQ(spoolDir("/s", "", ".hidden", 1), "/s/_/_hidden/1");
}

TEST(Spool, OnlyOneSpoolPerDirectory) {
  TempDir d;
  SpoolPtr s = openOrFail(baseOptions(d));
  std::string err;
  EXPECT_FALSE(Spool::open(baseOptions(d), err));
  EXPECT_NE(err.find("LOCK"), std::string::npos) << err;
  s->close();
  EXPECT_TRUE(Spool::open(baseOptions(d), err)) << err;
}

TEST(Spool, ClosedSpoolRefusesAppends) {
  TempDir d;
  SpoolPtr s = openOrFail(baseOptions(d));
  s->close();
  EXPECT_EQ(s->append(numbered(1)).status, AppendStatus::Closed);
}

TEST(Spool, FlushPolicyAlwaysSyncsBeforeReturning) {
  TempDir d;
  Options o = baseOptions(d);
  o.flush = FlushPolicy::Always;
  SpoolPtr s = openOrFail(o);
  const AppendResult r = s->append(numbered(1));
  EXPECT_EQ(s->syncedId(), r.id);
}

TEST(Spool, FlushPolicyIntervalSyncsInTheBackground) {
  TempDir d;
  Options o = baseOptions(d);
  o.flush = FlushPolicy::Interval;
  o.flushInterval = milliseconds(5);
  o.backgroundThread = true;
  SpoolPtr s = openOrFail(o);
  const AppendResult r = s->append(numbered(1));
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (s->syncedId() < r.id && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(s->syncedId(), r.id);
  // Acks are written back by the same thread.
  s->ack(r.id);
  const fs::path ack =
      d.path() / fs::path(filesWith(d.path(), ".seg").back()).replace_extension(".ack");
  while (!(fs::exists(ack) && fs::file_size(ack) == 16) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(fs::exists(ack) && fs::file_size(ack) == 16);
}

// One producer, one consumer, backpressure, small segments: everything arrives once, in order.
TEST(Spool, ConcurrentProducerAndConsumerDeliverEverythingOnceInOrder) {
  TempDir d;
  Options o = baseOptions(d);
  o.segmentBytes = 8192;
  o.maxMessages = 500;
  o.backgroundThread = true;  // ack write-back races with the reader and the producer
  o.flushInterval = milliseconds(2);
  SpoolPtr s = openOrFail(o);
  constexpr std::uint64_t kTotal = 20000;
  std::thread producer([&] {
    std::vector<Message> batch;
    std::uint64_t n = 1;
    while (n <= kTotal) {
      batch.clear();
      for (std::uint64_t k = 0; k < 64 && n + k <= kTotal; ++k) {
        batch.push_back(numbered(n + k));
      }
      std::span<const Message> rest(batch);
      while (!rest.empty()) {
        const BatchResult r = s->appendBatch(rest);
        ASSERT_NE(r.status, AppendStatus::IoError);
        rest = rest.subspan(r.consumed);
        n += r.consumed;
        if (r.status == AppendStatus::Full) {
          s->waitForSpace(milliseconds(100));
        }
      }
    }
  });
  std::uint64_t expect = 1;
  std::vector<Entry> got;
  std::vector<std::uint64_t> acks;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (expect <= kTotal && std::chrono::steady_clock::now() < deadline) {
    got.clear();
    if (s->readNext(100, got) == 0) {
      s->waitForData(milliseconds(50));
      continue;
    }
    acks.clear();
    for (const Entry& e : got) {
      ASSERT_EQ(e.msg.seq, expect);
      ASSERT_EQ(e.id, expect);
      ++expect;
      acks.push_back(e.id);
    }
    s->ack(acks);
  }
  producer.join();
  EXPECT_EQ(expect, kTotal + 1);
  EXPECT_EQ(s->size().messages, 0u);
  EXPECT_EQ(s->stats().appended, kTotal);
  EXPECT_EQ(filesWith(d.path(), ".seg").size(), 1u);
}

}  // namespace
}  // namespace mqb::spool

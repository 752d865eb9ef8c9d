// Spool throughput: append (+ flush policy), replay/ack, recovery scan, and a pipelined
// producer/consumer, all with 64-byte payloads. Prints messages/s and MB/s (of encoded records).
//
//   spool_bench [--dir DIR] [--count N]
//
// DIR defaults to a fresh directory under $TMPDIR (/tmp); it must be on a real disk for the
// fdatasync figures to mean anything (tmpfs makes fsync free).

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "spool/spool.h"

namespace {

namespace fs = std::filesystem;
using mqb::pipeline::Message;
using namespace mqb::spool;
using SteadyClock = std::chrono::steady_clock;

Message makeMessage(std::uint64_t n) {
  Message m;
  m.topic = "factory/line-4/sensor/temp";
  m.payload.assign(64, 'x');
  std::memcpy(m.payload.data(), &n, sizeof(n));
  m.qos = 1;
  m.seq = n;
  return m;
}

double secondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

void report(const char* what, std::uint64_t messages, std::uint64_t bytes, double secs) {
  std::printf("%-52s %10.0f msg/s %8.1f MB/s  (%llu msgs, %.3f s)\n", what, messages / secs,
              bytes / secs / 1e6, static_cast<unsigned long long>(messages), secs);
  std::fflush(stdout);
}

SpoolPtr openSpool(const fs::path& dir, FlushPolicy policy) {
  Options o;
  o.dir = dir.string();
  o.flush = policy;
  std::string err;
  SpoolPtr s = Spool::open(o, err);
  if (!s) {
    std::fprintf(stderr, "spool_bench: %s\n", err.c_str());
    std::exit(1);
  }
  return s;
}

// Appends `count` messages in batches of `batch` (1 = append()); returns encoded bytes.
std::uint64_t appendAll(Spool& s, std::uint64_t count, std::size_t batch,
                        const std::vector<Message>& pool) {
  std::uint64_t n = 0;
  while (n < count) {
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(batch, count - n));
    if (k == 1) {
      if (s.append(pool[n % pool.size()]).status != AppendStatus::Ok) {
        std::fprintf(stderr, "append failed\n");
        std::exit(1);
      }
    } else {
      const std::size_t at = static_cast<std::size_t>(n % (pool.size() - k + 1));
      const BatchResult r = s.appendBatch(std::span<const Message>(pool).subspan(at, k));
      if (r.status != AppendStatus::Ok) {
        std::fprintf(stderr, "appendBatch failed: %s\n", std::string(toString(r.status)).c_str());
        std::exit(1);
      }
    }
    n += k;
  }
  return s.size().bytes;
}

std::uint64_t drain(Spool& s, std::size_t max) {
  std::vector<Entry> got;
  std::vector<std::uint64_t> ids;
  std::uint64_t n = 0;
  while (true) {
    got.clear();
    if (s.readNext(max, got) == 0) {
      break;
    }
    ids.clear();
    for (const Entry& e : got) {
      ids.push_back(e.id);
    }
    s.ack(ids);
    n += got.size();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dirArg;
  std::uint64_t count = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dirArg = argv[++i];
    } else if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: spool_bench [--dir DIR] [--count N]\n");
      return 2;
    }
  }
  fs::path root;
  if (dirArg.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "mqb-spool-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    root = tmpl;
  } else {
    root = dirArg;
    fs::create_directories(root);
  }
  std::vector<Message> pool;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    pool.push_back(makeMessage(i));
  }
  std::printf("spool_bench: dir %s, 64-byte payloads, %zu-byte records, 64 MiB segments\n",
              root.c_str(), encodedSize(pool[0]));

  struct Case {
    const char* name;
    FlushPolicy policy;
    std::size_t batch;
    std::uint64_t count;
  };
  const std::uint64_t alwaysSingle = std::max<std::uint64_t>(count / 1000, 200);
  const std::uint64_t alwaysBatch = std::max<std::uint64_t>(count / 10, 2000);
  const Case cases[] = {
      {"append() x1, flush never", FlushPolicy::Never, 1, count},
      {"append() x1, flush interval (100 ms)", FlushPolicy::Interval, 1, count},
      {"append() x1, flush always (fdatasync each)", FlushPolicy::Always, 1, alwaysSingle},
      {"appendBatch(100), flush never", FlushPolicy::Never, 100, count},
      {"appendBatch(100), flush interval (100 ms)", FlushPolicy::Interval, 100, count},
      {"appendBatch(100), flush always (fdatasync/batch)", FlushPolicy::Always, 100, alwaysBatch},
  };
  int k = 0;
  for (const Case& c : cases) {
    const fs::path dir = root / ("append" + std::to_string(k++));
    SpoolPtr s = openSpool(dir, c.policy);
    const auto t0 = SteadyClock::now();
    const std::uint64_t bytes = appendAll(*s, c.count, c.batch, pool);
    s->flush();
    report(c.name, c.count, bytes, secondsSince(t0));
    s.reset();
    fs::remove_all(dir);
  }

  // Replay: a backlog of `count` records read in order and acked (segments deleted as they go).
  {
    const fs::path dir = root / "replay";
    SpoolPtr s = openSpool(dir, FlushPolicy::Interval);
    const std::uint64_t bytes = appendAll(*s, count, 100, pool);
    auto t0 = SteadyClock::now();
    std::uint64_t n = drain(*s, 1000);
    report("replay+ack live backlog (readNext 1000)", n, bytes, secondsSince(t0));

    appendAll(*s, count, 100, pool);
    s.reset();  // close; the backlog stays on disk
    t0 = SteadyClock::now();
    s = openSpool(dir, FlushPolicy::Interval);
    report("reopen: scan + checksum whole backlog", s->size().messages, s->size().bytes,
           secondsSince(t0));
    t0 = SteadyClock::now();
    n = drain(*s, 1000);
    report("replay+ack after reopen (readNext 1000)", n, bytes, secondsSince(t0));
    const std::uint64_t small = appendAll(*s, count / 10, 100, pool);
    t0 = SteadyClock::now();
    std::vector<Entry> got;
    std::uint64_t m = 0;
    while (s->readNext(1, got) > 0) {  // one at a time, the worst case
      s->ack(got.back().id);
      got.clear();
      ++m;
    }
    report("replay+ack one by one (readNext 1, ack 1)", m, small, secondsSince(t0));
    s.reset();
    fs::remove_all(dir);
  }

  // Pipelined: a producer appending (batches of 100, interval) while a consumer drains.
  {
    const fs::path dir = root / "pipelined";
    SpoolPtr s = openSpool(dir, FlushPolicy::Interval);
    const auto t0 = SteadyClock::now();
    std::thread producer([&] { appendAll(*s, count, 100, pool); });
    std::uint64_t n = 0;
    std::vector<Entry> got;
    std::vector<std::uint64_t> ids;
    while (n < count) {
      got.clear();
      if (s->readNext(1000, got) == 0) {
        s->waitForData(std::chrono::milliseconds(10));
        continue;
      }
      ids.clear();
      for (const Entry& e : got) {
        ids.push_back(e.id);
      }
      s->ack(ids);
      n += got.size();
    }
    producer.join();
    report("pipelined append(100)/replay+ack, 2 threads", n,
           s->stats().appended * encodedSize(pool[0]), secondsSince(t0));
    s.reset();
    fs::remove_all(dir);
  }
  if (dirArg.empty()) {
    fs::remove_all(root);
  }
  return 0;
}

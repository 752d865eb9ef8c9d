// metrics_bench: cost of one message's worth of metric updates on the hot path.
//
// One message = RouteMetrics::onReceived(bytes) + onForwarded(bytes, latency, now):
// 4 counter increments, inflight +1/-1, one histogram observation, one gauge set.
// Prints ns per message for 1 thread, 2 threads on their own branches (the design: one
// RouteMetrics per branch) and 2 threads sharing one branch (what to avoid), plus the cost of
// looking the counters up per message (Family::Add) instead of binding them once.
//
//   metrics_bench [messages-per-thread]   (default 5,000,000)

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;
using mqb::metrics::Metrics;
using mqb::metrics::RouteMetrics;

void oneMessage(RouteMetrics& r, long i) {
  r.onReceived(64);
  // latencies spread over the buckets, so Observe's bucket search is not always the first one
  r.onForwarded(64, 0.0001 * static_cast<double>(1 + (i & 1023)), 1.7e9);
}

double threadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Result {
  double wallNs;  ///< wall time per message of one thread
  double cpuNs;   ///< CPU time per message, averaged over the threads (robust to a busy machine)
};

Result run(const std::vector<RouteMetrics*>& perThread, long n) {
  const auto t0 = Clock::now();
  std::vector<double> cpu(perThread.size());
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < perThread.size(); ++k) {
    threads.emplace_back([r = perThread[k], n, out = &cpu[k]] {
      const double c0 = threadCpuNs();
      for (long i = 0; i < n; ++i) {
        oneMessage(*r, i);
      }
      *out = threadCpuNs() - c0;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double wall = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  double cpuSum = 0;
  for (double c : cpu) {
    cpuSum += c;
  }
  return {wall / static_cast<double>(n),
          cpuSum / static_cast<double>(cpu.size()) / static_cast<double>(n)};
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 5'000'000;
  Metrics m("bench", "bench");
  RouteMetrics& b0 = m.bindRoute("bench", "r", "local_to_remote", "0");
  RouteMetrics& b1 = m.bindRoute("bench", "r", "local_to_remote", "1");

  std::printf("metrics_bench: %ld messages per thread, %u hardware threads\n", n,
              std::thread::hardware_concurrency());
  run({&b0}, n / 10);  // warm up
  const auto print = [](const char* what, Result r) {
    std::printf("  %-34s %7.1f ns/message CPU  (%7.1f wall)\n", what, r.cpuNs, r.wallNs);
  };
  print("1 thread, bound RouteMetrics:", run({&b0}, n));
  print("2 threads, own branch each:", run({&b0, &b1}, n));
  print("2 threads, one shared branch:", run({&b0, &b0}, n));

  // The anti-pattern: label lookup per message.
  auto& fam =
      prometheus::BuildCounter().Name("bench_lookup_total").Help("x").Register(*m.registry());
  const long nl = n / 10;
  const double c0 = threadCpuNs();
  for (long i = 0; i < nl; ++i) {
    fam.Add({{"connector", "bench"},
             {"route", "r"},
             {"direction", "local_to_remote"},
             {"branch", "0"}})
        .Increment();
  }
  const double lookup = (threadCpuNs() - c0) / static_cast<double>(nl);
  std::printf("  %-34s %7.1f ns/message CPU  (avoid)\n", "Family::Add lookup, 1 counter:", lookup);

  const double total = b0.forwarded->Value() + b1.forwarded->Value();
  std::printf("  check: forwarded total %.0f\n", total);
  return 0;
}

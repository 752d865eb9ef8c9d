// mqb_metrics_demo: serves the bridge's metrics with known values, for script tests of the
// observability layer (promtool, a real Prometheus) before/without a running bridge.
//
//   mqb_metrics_demo [--address 127.0.0.1:0] [--routes 2] [--messages 100] [--drops 3]
//
// Routes r1..rN of connector "demo", direction local_to_remote, branch "0": each received
// messages+drops, forwarded `messages` (so the latency histogram has `messages` observations) and
// dropped `drops` as "expired". Every client is connected and subscribed. Prints "port=<port>"
// on stdout once serving, then runs until SIGINT/SIGTERM.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>

#include "app/version.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: mqb_metrics_demo [--address HOST:PORT] [--routes N] [--messages N] "
               "[--drops N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mqb::metrics;
  std::string address = "127.0.0.1:0";
  long routes = 2;
  long messages = 100;
  long drops = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      return usage();
    }
    const char* v = argv[++i];
    if (a == "--address") {
      address = v;
    } else if (a == "--routes") {
      routes = std::strtol(v, nullptr, 10);
    } else if (a == "--messages") {
      messages = std::strtol(v, nullptr, 10);
    } else if (a == "--drops") {
      drops = std::strtol(v, nullptr, 10);
    } else {
      return usage();
    }
  }
  if (routes < 1 || messages < 0 || drops < 0) {
    return usage();
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: they inherit the mask

  try {
    Metrics m(mqb::app::kVersion, mqb::app::kGitRevision);
    m.recordReload(true);
    const double now = static_cast<double>(std::time(nullptr));
    for (long r = 1; r <= routes; ++r) {
      std::string route("r");  // not "r" + to_string(): GCC 12 -Wrestrict false positive
      route += std::to_string(r);
      RouteMetrics& rm = m.bindRoute("demo", route, kLocalToRemote, "0");
      for (long i = 0; i < messages + drops; ++i) {
        rm.onReceived(64);
      }
      for (long i = 0; i < messages; ++i) {
        // latencies spread over 100 µs .. ~1 s so histogram_quantile has something to show
        const double latency = 0.0001 * static_cast<double>(1L << (i % 14));
        rm.onForwarded(64, latency, now);
      }
      for (long i = 0; i < drops; ++i) {
        rm.onDropped(DropReason::Expired);
      }
      rm.rateLimitWaitSeconds->Increment(0.5);
      for (const char* side : {"local", "remote"}) {
        const bool sub = std::strcmp(side, "local") == 0;
        ClientMetrics& c =
            m.bindClient("demo", route, kLocalToRemote, side, sub ? "sub-0" : "pub-0", sub);
        c.connectAttempts->Increment();
        c.connected->Set(1);
        c.subscribed->Set(sub ? 1 : 0);
      }
    }
    Watchdog dog;
    auto& beat = dog.add("main_loop", std::chrono::seconds(10));
    HttpServerOptions o;
    o.address = address;
    HttpServer http(o, m.registry());
    http.setHealthCheck([&] { return dog.check(); });
    http.setReadinessCheck([&] { return m.readiness(); });
    std::printf("port=%d\n", http.port());
    std::fflush(stdout);
    const timespec tick{1, 0};
    for (;;) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        break;
      }
      beat.beat();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqb_metrics_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}

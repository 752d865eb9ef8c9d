// pipeline_bench: the pipeline alone. synthetic source -> topic_rewrite -> qos -> rate_limit ->
// null sink, on 1, 2 and 4 branches, with one flow-graph node per stage and with the stages fused
// into one node, each run by the pushing thread (Execution::Caller, what mqbridge runs) and by
// oneTBB's workers (Execution::Workers, what `mqbridge loadtest` runs). One synthetic thread feeds
// every branch round-robin. Prints messages/s and ns/message.
//
//   pipeline_bench [--messages N] [--payload-bytes N] [--batch N] [--capacity N] [--runs N]
//                  [--target T] [--branches N] [--custom-stage 0|1] [--execution caller|workers]
//
// --custom-stage 1 appends a custom stage to the route (set_properties adding a user property
// `site: plant-a`, built through the registry like any configured stage), to measure what one
// custom stage costs per message inside the graph.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/plan.h"
#include "pipeline/graph_builder.h"
#include "sinks/null/null_sink.h"
#include "sources/synthetic/synthetic_source.h"

using namespace mqb;

namespace {

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Result {
  double seconds = 0;
  double cpu = 0;  ///< process CPU seconds (all threads) during the run
  std::uint64_t messages = 0;
  std::uint64_t p50 = 0, p99 = 0;
};

Result runOnce(int branches, bool fuse, pipeline::Execution exec, std::uint64_t messages,
               std::size_t payload, std::size_t batch, std::size_t capacity,
               const std::string& target, bool customStage) {
  config::ConnectorSpec connector;
  config::RouteSpec route;
  route.name = "bench";
  route.qos = 1;
  route.source = "telemetry/#";
  if (!target.empty()) {
    route.target = target;
  }
  if (branches > 1) {
    route.sharedSubscription = config::SharedSubscriptionSpec{branches, "bench"};
  }
  config::Diagnostics diag;
  pipeline::RouteGraphSpec spec;
  if (customStage) {
    config::StageSpec st;
    st.type = "set_properties";
    st.params = YAML::Load("{type: set_properties, userProperties: {site: plant-a}}");
    st.path = "bench.stages[0]";
    route.stages.push_back(st);
  }
  spec.stages =
      pipeline::Registry::builtin().parseStages(config::stageChain(&connector, route), diag);
  if (diag.hasErrors()) {
    std::fprintf(stderr, "%s", diag.str().c_str());
    std::exit(1);
  }
  spec.route = &route;
  spec.capacity = capacity;
  spec.fuseStages = fuse;
  spec.execution = exec;
  std::vector<sinks::null::NullSink*> nulls;
  for (int i = 0; i < branches; ++i) {
    auto s = std::make_unique<sinks::null::NullSink>();
    nulls.push_back(s.get());
    spec.sinks.push_back(std::move(s));
  }
  auto graph = pipeline::RouteGraph::build(std::move(spec), diag);
  if (!graph) {
    std::fprintf(stderr, "%s", diag.str().c_str());
    std::exit(1);
  }
  graph->start();
  sources::synthetic::Options o;
  o.count = messages;
  o.payloadBytes = payload;
  o.batchSize = batch;
  o.devices = 100;
  pipeline::RouteGraph* g = graph.get();
  sources::synthetic::SyntheticSource src(o, [g](pipeline::Batch& b) { return g->tryPushAny(b); });
  auto delivered = [&] {
    std::uint64_t n = 0;
    for (auto* s : nulls) {
      n += s->messages();
    }
    return n;
  };
  const double c0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  src.start();
  while (delivered() < messages) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double c1 = cpuSeconds();
  src.join();
  graph->stop(std::chrono::seconds(1));
  Result r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.messages = messages;
  r.cpu = c1 - c0;
  sinks::null::LatencyHistogram h;
  for (auto* s : nulls) {
    h.merge(s->latency());
  }
  r.p50 = h.quantile(0.5);
  r.p99 = h.quantile(0.99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t messages = 5'000'000;
  std::size_t payload = 64, batch = 256, capacity = 65536;
  int runs = 3;
  std::string target = "factory/{2}/data";
  int onlyBranches = 0;
  bool customStage = false;
  std::string onlyExec;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--messages") {
      messages = std::strtoull(v, nullptr, 10);
    } else if (a == "--payload-bytes") {
      payload = std::strtoull(v, nullptr, 10);
    } else if (a == "--batch") {
      batch = std::strtoull(v, nullptr, 10);
    } else if (a == "--capacity") {
      capacity = std::strtoull(v, nullptr, 10);
    } else if (a == "--runs") {
      runs = std::atoi(v);
    } else if (a == "--target") {
      target = v;
    } else if (a == "--branches") {
      onlyBranches = std::atoi(v);
    } else if (a == "--execution") {
      onlyExec = v;
    } else if (a == "--custom-stage") {
      customStage = std::atoi(v) != 0;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::printf(
      "pipeline_bench: %llu messages x %zu B, batch %zu, capacity %zu, target \"%s\", "
      "hardware threads %u, best of %d%s\n",
      static_cast<unsigned long long>(messages), payload, batch, capacity, target.c_str(),
      std::thread::hardware_concurrency(), runs,
      customStage ? ", plus a custom set_properties stage" : "");
  std::printf("%-9s %-8s %-9s %5s %13s %8s %12s %10s %10s\n", "branches", "exec", "nodes", "runs",
              "msg/s (best)", "ns/msg", "cpu ns/msg", "p50 us", "p99 us");
  for (int branches : {1, 2, 4}) {
    if (onlyBranches != 0 && branches != onlyBranches) {
      continue;
    }
    for (const char* execName : {"caller", "workers"}) {
      if (!onlyExec.empty() && onlyExec != execName) {
        continue;
      }
      const auto exec = std::string_view(execName) == "caller" ? pipeline::Execution::Caller
                                                               : pipeline::Execution::Workers;
      for (bool fuse : {false, true}) {
        Result best;
        for (int r = 0; r < runs; ++r) {
          Result x = runOnce(branches, fuse, exec, messages, payload, batch, capacity, target,
                             customStage);
          if (best.seconds == 0 || x.seconds < best.seconds) {
            best = x;
          }
        }
        const double rate = static_cast<double>(best.messages) / best.seconds;
        std::printf("%-9d %-8s %-9s %5d %13.0f %8.1f %12.1f %10.1f %10.1f\n", branches, execName,
                    fuse ? "fused" : "per-stage", runs, rate, 1e9 / rate,
                    best.cpu * 1e9 / static_cast<double>(best.messages),
                    static_cast<double>(best.p50) / 1e3, static_cast<double>(best.p99) / 1e3);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

// Per-message cost of the transform stages (filter, set_properties, json_map): Stage::process()
// called directly on one thread, outside the flow graph, with bound drop counters. Prints ns per
// message for each configuration: best of 5 runs, minus the cost of building and destroying the
// message (the `baseline` row, a stage that only forwards).
//
//   build/stages_bench [messages-per-run]

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/diagnostics.h"
#include "config/yaml_params.h"
#include "pipeline/route_counters.h"
#include "stages/filter/config.h"
#include "stages/json_map/config.h"
#include "stages/set_properties/config.h"

using namespace mqb;

namespace {

constexpr const char* kPayload =
    R"({"sensor":"s-17","reading":{"celsius":31.5,"raw":1234},"ts":1700000000,"debug":false})";

class Count final : public pipeline::Emitter {
 public:
  std::size_t n = 0;
  void emit(pipeline::Message&& m) noexcept override { n += m.payload.size() > 0 ? 1 : 0; }
};

class Forward final : public pipeline::Stage {
 public:
  void process(pipeline::Message&& m, pipeline::Emitter& out) noexcept override {
    out.emit(std::move(m));
  }
};

double nsPerMessage(pipeline::Stage& stage, std::size_t n) {
  double best = 1e300;
  for (int run = 0; run < 5; ++run) {
    Count out;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      pipeline::Message m;
      m.topic = (i & 1) != 0 ? "plant/a/temperature" : "plant/a/humidity";
      m.payload = kPayload;
      m.props.user.push_back({"site", "plant-a"});
      stage.process(std::move(m), out);
    }
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(
        best, std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n));
    if (out.n > n) {
      std::abort();  // keeps `out` observable
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  prometheus::Registry registry;
  metrics::RouteMetrics metrics;
  auto& fam = prometheus::BuildCounter().Name("dropped").Help("-").Register(registry);
  for (std::size_t i = 0; i < metrics.dropped.size(); ++i) {
    metrics.dropped[i] = &fam.Add({{"reason", std::to_string(i)}});
  }
  pipeline::RouteCounters counters(&metrics);
  pipeline::StageContext ctx;
  ctx.counters = &counters;

  const stages::filter::FilterFactory filter;
  const stages::set_properties::SetPropertiesFactory setProps;
  const stages::json_map::JsonMapFactory jsonMap;
  struct Row {
    const char* name;
    const pipeline::StageFactory* factory;
    const char* yaml;
  };
  const Row rows[] = {
      {"filter topic (half kept)", &filter, "topic: plant/+/temperature"},
      {"filter userProperty", &filter, "userProperty: {name: site, value: plant-a}"},
      {"filter json > (half parsed)", &filter,
       "topic: plant/+/temperature\njson: {field: reading.celsius, op: \">\", value: 30}"},
      {"filter json > (all parsed)", &filter,
       "json: {field: /reading/celsius, op: \">\", value: 30}"},
      {"set_properties set+add+contentType", &setProps,
       "userProperties: [{name: site, value: plant-b}, {name: hop, value: e1, mode: add}]\n"
       "contentType: application/json"},
      {"set_properties + utf8 check", &setProps,
       "userProperties: {site: plant-b}\npayloadFormat: utf8"},
      {"json_map rename+drop+add", &jsonMap,
       "rename: {reading.celsius: temperature}\ndrop: [debug]\nadd: {site: plant-a}"},
  };

  Forward forward;
  const double base = nsPerMessage(forward, n);
  std::printf("%-38s %10s %10s\n", "stage (85-byte JSON payload)", "ns/msg", "net ns/msg");
  std::printf("%-38s %10.1f %10s\n", "baseline (build message + forward)", base, "-");
  for (const auto& r : rows) {
    config::Diagnostics diag;
    config::YamlParams params(YAML::Load(r.yaml), "bench", "stage", diag);
    auto cfg = r.factory->parse(params);
    if (!cfg) {
      std::fprintf(stderr, "%s", diag.str().c_str());
      return 1;
    }
    auto stage = r.factory->create(cfg, ctx);
    const double ns = nsPerMessage(*stage, n);
    std::printf("%-38s %10.1f %10.1f\n", r.name, ns, ns - base);
  }
  return 0;
}

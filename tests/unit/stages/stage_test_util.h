#pragma once
// Helpers for transform stage unit tests: a collecting emitter, a recording delivery tracker,
// metrics (tests/support/test_metrics.h) and YAML parsing with diagnostics.

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "config/yaml_params.h"
#include "metrics/route_metrics.h"
#include "pipeline/route_counters.h"
#include "pipeline/stage_factory.h"
#include "tests/support/test_metrics.h"

namespace mqb::stages::testing {

struct Collect final : pipeline::Emitter {
  std::vector<pipeline::Message> out;
  void emit(pipeline::Message&& m) noexcept override { out.push_back(std::move(m)); }
};

struct Tracker final : pipeline::DeliveryTracker {
  std::map<std::uint64_t, pipeline::Outcome> settled;
  int calls = 0;
  void settle(std::uint64_t token, pipeline::Outcome o) noexcept override {
    settled[token] = o;
    ++calls;
  }
};

/// The shared metrics fixture, with the counters a stage under test counts into.
struct TestMetrics : mqb::test::TestMetrics {
  pipeline::RouteCounters counters{&route};
};

inline pipeline::Message message(std::string topic, std::string payload, Tracker* tracker = nullptr,
                                 std::uint64_t token = 1) {
  pipeline::Message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  if (tracker != nullptr) {
    m.completion = pipeline::Completion(tracker, token);
  }
  return m;
}

inline const char* kFile = "stages.yaml";
inline const char* kPath = "spec.routes[0].stages[0]";

/// Parses `yaml` (a stage mapping) with `factory`; diagnostics in `diag`.
inline pipeline::StageConfigPtr parse(const pipeline::StageFactory& factory,
                                      const std::string& yaml, config::Diagnostics& diag) {
  config::YamlParams params(YAML::Load(yaml), kFile, kPath, diag);
  return factory.parse(params);
}

/// A context whose drops are counted into `m` (if not null).
inline pipeline::StageContext contextFor(TestMetrics* m) {
  pipeline::StageContext ctx;
  ctx.counters = m != nullptr ? &m->counters : nullptr;
  return ctx;
}

/// Builds a stage from `yaml`, failing the test if the config does not parse.
inline pipeline::StagePtr build(const pipeline::StageFactory& factory, const std::string& yaml,
                                TestMetrics* m = nullptr) {
  config::Diagnostics diag;
  auto cfg = parse(factory, yaml, diag);
  if (!cfg) {
    ADD_FAILURE() << diag.str();
    return nullptr;
  }
  return factory.create(cfg, contextFor(m));
}

}  // namespace mqb::stages::testing

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <thread>

#include "pipeline/graph_builder.h"

#include "config/plan.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::pipeline {
namespace {

using mqb::testing::CountingTracker;
using mqb::testing::RecordingSink;
using mqb::testing::TestMetrics;
using mqb::testing::waitFor;

std::string encode(std::uint64_t i) {
  std::string s(sizeof i, '\0');
  std::memcpy(s.data(), &i, sizeof i);
  return s;
}
std::uint64_t decode(const std::string& s) {
  std::uint64_t i = 0;
  std::memcpy(&i, s.data(), std::min(s.size(), sizeof i));
  return i;
}

/// A custom stage: drops odd payload ids (Filtered) and duplicates multiples of 10 (fan-out).
class OddFilterDupTen final : public Stage {
 public:
  void process(Message&& m, Emitter& out) noexcept override {
    const std::uint64_t id = decode(m.payload);
    if (id % 2 == 1) {
      m.completion.settle(Outcome::Filtered);
      return;
    }
    if (id % 10 == 0) {
      out.emit(m.fork());
    }
    out.emit(std::move(m));
  }
};
/// A parameterless test stage type `type` that creates S.
template <typename S>
class TestStageFactory final : public StageFactory {
 public:
  explicit TestStageFactory(std::string_view type) : type_(type) {}
  std::string_view type() const noexcept override { return type_; }
  std::string_view description() const noexcept override { return "test"; }
  StageConfigPtr parse(StageParams&) const override { return std::make_shared<StageConfig>(); }
  StagePtr create(const StageConfigPtr&, const StageContext&) const override {
    return std::make_unique<S>();
  }

 private:
  std::string_view type_;
};

/// The route's first custom stage, of a type registered in `reg`.
ConfiguredStage customStage(Registry& reg, const char* type) {
  config::Diagnostics d;
  config::StageSpec spec;
  spec.type = type;
  spec.path = "spec.routes[0].stages[0]";
  return reg.parseStage(spec, d);
}

struct Built {
  config::ConnectorSpec connector;
  config::RouteSpec route;
  std::vector<RecordingSink*> sinks;
  std::vector<TestMetrics> tms;
  std::unique_ptr<RouteGraph> graph;
};

std::unique_ptr<Built> buildWith(Execution execution, int clients, std::size_t capacity,
                                 bool hold = false,
                                 std::optional<std::string> target = std::nullopt,
                                 std::function<void(RouteGraphSpec&)> tweak = {}) {
  auto b = std::make_unique<Built>();
  b->route = mqb::testing::makeRoute("r", clients, std::move(target));
  b->tms = std::vector<TestMetrics>(static_cast<std::size_t>(clients));
  config::Diagnostics diag;
  RouteGraphSpec spec;
  spec.route = &b->route;
  spec.stages = Registry::builtin().parseStages(config::stageChain(&b->connector, b->route), diag);
  spec.capacity = capacity;
  spec.execution = execution;
  for (int i = 0; i < clients; ++i) {
    auto s = std::make_unique<RecordingSink>(hold);
    b->sinks.push_back(s.get());
    spec.sinks.push_back(std::move(s));
    spec.metrics.push_back(b->tms[static_cast<std::size_t>(i)].route);
  }
  if (tweak) {
    tweak(spec);
  }
  b->graph = RouteGraph::build(std::move(spec), diag);
  EXPECT_TRUE(b->graph) << diag.str();
  return b;
}

Batch makeBatch(std::uint64_t firstId, std::size_t n, DeliveryTracker* tracker = nullptr) {
  Batch batch;
  for (std::size_t i = 0; i < n; ++i) {
    Message m = mqb::testing::makeMessage("in/dev/" + std::to_string(i % 7), encode(firstId + i));
    if (tracker != nullptr) {
      m.completion = Completion(tracker, firstId + i);
    }
    batch.push_back(std::move(m));
  }
  return batch;
}

/// Every behaviour holds for both ways of running a route.
class RouteGraphTest : public ::testing::TestWithParam<Execution> {
 protected:
  std::unique_ptr<Built> build(int clients, std::size_t capacity, bool hold = false,
                               std::optional<std::string> target = std::nullopt,
                               std::function<void(RouteGraphSpec&)> tweak = {}) {
    return buildWith(GetParam(), clients, capacity, hold, std::move(target), std::move(tweak));
  }
};

/// Pushes until accepted (bounded wait); the pipeline drains meanwhile.
void pushAll(RouteGraph& g, std::size_t branch, Batch& batch) {
  ASSERT_TRUE(waitFor([&] { return g.tryPush(branch, batch); })) << "pipeline never drained";
}

TEST_P(RouteGraphTest, KeepsStrictOrderOnANonSharedRouteUnderConcurrency) {
  for (bool fuse : {false, true}) {
    auto b =
        build(1, 5000, false, std::nullopt, [fuse](RouteGraphSpec& s) { s.fuseStages = fuse; });
    RouteGraph& g = *b->graph;
    g.start();
    constexpr std::uint64_t kTotal = 100000;
    std::thread producer([&] {
      std::uint64_t id = 0;
      std::size_t size = 1;
      while (id < kTotal) {
        const std::size_t n = std::min<std::uint64_t>(size, kTotal - id);
        Batch batch = makeBatch(id, n);
        pushAll(g, 0, batch);
        id += n;
        size = size % 61 + 1;  // 1..61: batches of varying size
      }
    });
    producer.join();
    ASSERT_TRUE(waitFor([&] { return b->sinks[0]->received() == kTotal; }));
    EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
    const auto seqs = b->sinks[0]->seqs();
    const auto payloads = b->sinks[0]->payloads();
    ASSERT_EQ(seqs.size(), kTotal);
    std::size_t bad = 0;
    for (std::uint64_t i = 0; i < kTotal; ++i) {
      bad += (seqs[i] != i || decode(payloads[i]) != i) ? 1 : 0;
    }
    EXPECT_EQ(bad, 0u) << "fuse=" << fuse;
    EXPECT_EQ(g.inflight(), 0u);
  }
}

TEST_P(RouteGraphTest, TwoProducersOnOneBranchGetGapFreeSequenceAndKeepTheirOwnOrder) {
  auto b = build(1, 2000);
  RouteGraph& g = *b->graph;
  g.start();
  constexpr std::uint64_t kPer = 20000;
  auto produce = [&](std::uint64_t base) {
    for (std::uint64_t id = 0; id < kPer; id += 20) {
      Batch batch = makeBatch(base + id, 20);
      pushAll(g, 0, batch);
    }
  };
  std::thread a(produce, 0), c(produce, 1000000);
  a.join();
  c.join();
  ASSERT_TRUE(waitFor([&] { return b->sinks[0]->received() == 2 * kPer; }));
  g.stop(std::chrono::seconds(5));
  const auto seqs = b->sinks[0]->seqs();
  const auto payloads = b->sinks[0]->payloads();
  std::uint64_t nextA = 0, nextC = 1000000;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    ASSERT_EQ(seqs[i], i);
    const std::uint64_t id = decode(payloads[i]);
    std::uint64_t& next = id >= 1000000 ? nextC : nextA;
    ASSERT_EQ(id, next);
    ++next;
  }
}

TEST_P(RouteGraphTest, RoundRobinBalancesEvenlyAcrossBranches) {
  auto b = build(3, 600);
  RouteGraph& g = *b->graph;
  ASSERT_EQ(g.branches(), 3u);
  g.start();
  for (std::uint64_t i = 0; i < 3000; ++i) {
    Batch batch = makeBatch(i * 10, 10);
    ASSERT_TRUE(waitFor([&] { return g.tryPushAny(batch); }));
  }
  ASSERT_TRUE(waitFor([&] {
    return b->sinks[0]->received() + b->sinks[1]->received() + b->sinks[2]->received() == 30000;
  }));
  g.stop(std::chrono::seconds(5));
  for (auto* s : b->sinks) {
    EXPECT_EQ(s->received(), 10000u);
    const auto seqs = s->seqs();
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      ASSERT_EQ(seqs[i], i);  // each branch has its own gap-free sequence
    }
  }
}

TEST_P(RouteGraphTest, AStalledSinkCapsInFlightAndPushesBack) {
  auto b = build(2, 100, /*hold=*/true);
  RouteGraph& g = *b->graph;
  g.start();
  std::size_t accepted = 0;
  int refusals = 0;
  for (int i = 0; i < 200 && refusals < 3; ++i) {
    Batch batch = makeBatch(static_cast<std::uint64_t>(i) * 7, 7);
    if (g.tryPushAny(batch)) {
      accepted += 7;
      EXPECT_TRUE(batch.empty());
    } else {
      ++refusals;
      EXPECT_EQ(batch.size(), 7u);  // untouched
    }
    EXPECT_LE(g.inflight(), 100u);
  }
  EXPECT_EQ(accepted, 98u);  // 14 batches of 7; the 15th would exceed 100
  EXPECT_EQ(refusals, 3);
  Batch tooBig = makeBatch(0, 101);
  EXPECT_FALSE(g.tryPush(0, tooBig));
  ASSERT_TRUE(waitFor([&] { return b->sinks[0]->received() + b->sinks[1]->received() == 98; }));
  EXPECT_EQ(g.inflight(), 98u);
  EXPECT_LE(g.inflightHighWater(), 100u);
  EXPECT_DOUBLE_EQ(b->tms[0].inflight() + b->tms[1].inflight(), 98.0);
  // The sinks let go: the route admits again.
  b->sinks[0]->releaseHeld();
  b->sinks[1]->releaseHeld();
  EXPECT_EQ(g.inflight(), 0u);
  Batch more = makeBatch(1000, 7);
  EXPECT_TRUE(g.tryPush(1, more));
  // Held messages are not released within the drain; the sink's stop releases them.
  EXPECT_TRUE(g.stop(std::chrono::milliseconds(20)));
  EXPECT_EQ(g.inflight(), 0u);
}

TEST_P(RouteGraphTest, AThrowingNodeLosesOnlyItsBatchAndTheGraphKeepsRunning) {
  std::atomic<int> calls{0};
  auto b = build(1, 1000, false, std::nullopt, [&calls](RouteGraphSpec& s) {
    s.beforeNodeForTest = [&calls](std::size_t, std::size_t node) {
      if (node == 1 && calls.fetch_add(1) == 2) {
        throw std::runtime_error("injected");
      }
    };
  });
  RouteGraph& g = *b->graph;
  g.start();
  CountingTracker tracker;
  for (std::uint64_t i = 0; i < 10; ++i) {
    Batch batch = makeBatch(i * 5, 5, &tracker);
    pushAll(g, 0, batch);
  }
  ASSERT_TRUE(waitFor([&] { return tracker.total() == 50; }));
  EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->sinks[0]->received(), 45u);
  EXPECT_EQ(tracker.count(Outcome::Delivered), 45u);
  EXPECT_EQ(tracker.count(Outcome::Dropped), 5u);
  EXPECT_EQ(g.stageErrors(), 5u);
  EXPECT_EQ(b->tms[0].dropped(metrics::DropReason::StageError), 5.0);
  EXPECT_EQ(g.inflight(), 0u);
  // Order is kept around the lost batch (ids 10..14 missing).
  const auto payloads = b->sinks[0]->payloads();
  std::uint64_t expect = 0;
  for (const auto& p : payloads) {
    if (expect == 10) {
      expect = 15;
    }
    ASSERT_EQ(decode(p), expect++);
  }
}

TEST_P(RouteGraphTest, UnresolvableTemplateIsCountedAndReleased) {
  auto b = build(1, 100, false, std::string("out/{3}"));
  RouteGraph& g = *b->graph;
  g.start();
  CountingTracker tracker;
  Batch batch;
  for (const char* t : {"a/b/c", "a/b", "x/y/z/w"}) {
    Message m = mqb::testing::makeMessage(t);
    m.completion = Completion(&tracker, 1);
    batch.push_back(std::move(m));
  }
  ASSERT_TRUE(g.tryPush(0, batch));
  ASSERT_TRUE(waitFor([&] { return tracker.total() == 3; }));
  EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->sinks[0]->topics(), (std::vector<std::string>{"out/c", "out/z"}));
  EXPECT_EQ(tracker.count(Outcome::Dropped), 1u);
  EXPECT_EQ(b->tms[0].dropped(metrics::DropReason::Template), 1.0);
  EXPECT_EQ(g.inflight(), 0u);
}

TEST_P(RouteGraphTest, CustomStagesRunAfterTheBuiltinsWithFilterAndFanOut) {
  Registry reg;
  reg.add(std::make_unique<TestStageFactory<OddFilterDupTen>>("odd_filter"));
  auto custom = customStage(reg, "odd_filter");
  ASSERT_NE(custom.factory, nullptr);
  auto b = build(1, 1000, false, std::string("fixed"),
                 [&custom](RouteGraphSpec& s) { s.stages.push_back(custom); });
  RouteGraph& g = *b->graph;
  EXPECT_EQ(g.nodesPerBranch(), 10u);  // 4 stage nodes, 5 sequencers, the sink
  g.start();
  CountingTracker tracker;
  for (std::uint64_t i = 0; i < 10; ++i) {
    Batch batch = makeBatch(i * 10, 10, &tracker);
    pushAll(g, 0, batch);
  }
  ASSERT_TRUE(waitFor([&] { return tracker.total() == 100; }));
  EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->sinks[0]->received(), 60u);  // 50 even ids + 10 duplicates
  EXPECT_EQ(tracker.count(Outcome::Filtered), 50u);
  EXPECT_EQ(tracker.count(Outcome::Delivered), 50u);  // a fork pair reports once
  EXPECT_EQ(g.inflight(), 0u);
  for (const auto& t : b->sinks[0]->topics()) {
    ASSERT_EQ(t, "fixed");
  }
}

TEST_P(RouteGraphTest, RefusesBeforeStartAndAfterStopAndRejectsBadSpecs) {
  auto b = build(1, 10);
  Batch batch = makeBatch(0, 1);
  EXPECT_FALSE(b->graph->tryPush(0, batch));
  b->graph->start();
  EXPECT_FALSE(b->graph->tryPush(1, batch));  // no such branch
  EXPECT_TRUE(b->graph->tryPush(0, batch));
  EXPECT_TRUE(b->graph->stop(std::chrono::seconds(5)));
  Batch late = makeBatch(0, 1);
  EXPECT_FALSE(b->graph->tryPush(0, late));

  auto route = mqb::testing::makeRoute("r", 2, std::string("a/{0}"));
  config::Diagnostics diag;
  RouteGraphSpec spec;
  spec.route = &route;
  spec.stages = Registry::builtin().parseStages(config::stageChain(nullptr, route), diag);
  spec.sinks.push_back(std::make_unique<RecordingSink>());
  EXPECT_EQ(RouteGraph::build(std::move(spec), diag), nullptr);
  EXPECT_EQ(diag.str(),
            "routes.yaml:7:7: error: spec.routes[0]: internal: 1 sinks for 2 branches\n"
            "routes.yaml:7:7: error: spec.routes[0]: stage \"topic_rewrite\" failed validation\n"
            "routes.yaml:7:7: error: spec.routes[0].target: invalid target \"a/{0}\": invalid "
            "placeholder \"{0}\" at column 3: levels are numbered from 1\n");
}

INSTANTIATE_TEST_SUITE_P(Execution, RouteGraphTest,
                         ::testing::Values(Execution::Caller, Execution::Workers),
                         [](const ::testing::TestParamInfo<Execution>& i) {
                           return i.param == Execution::Caller ? "Caller" : "Workers";
                         });

TEST(RouteGraphCaller, ThePushingThreadCarriesTheBatchToTheSinkBeforeTryPushReturns) {
  auto b = buildWith(Execution::Caller, 1, 100);
  RouteGraph& g = *b->graph;
  g.start();
  CountingTracker tracker;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < 20; ++i) {
      Batch batch = makeBatch(i * 5, 5, &tracker);
      ASSERT_TRUE(g.tryPush(0, batch));
      // No wait: the sink has it already, written by this very thread.
      EXPECT_EQ(b->sinks[0]->received(), (i + 1) * 5);
      EXPECT_EQ(b->sinks[0]->lastWriter(), std::this_thread::get_id());
    }
  });
  producer.join();
  EXPECT_EQ(tracker.count(Outcome::Delivered), 100u);
  EXPECT_EQ(g.inflight(), 0u);
  EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
}

/// Waits inside process() until `want` stages are inside at once (bounded): shows parallelism.
class Rendezvous final : public Stage {
 public:
  static inline std::atomic<int> inside{0};
  static inline std::atomic<int> met{0};
  static inline int want = 2;
  void process(Message&& m, Emitter& out) noexcept override {
    inside.fetch_add(1);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (inside.load() < want && std::chrono::steady_clock::now() < end) {
      std::this_thread::yield();
    }
    if (inside.load() >= want) {
      met.fetch_add(1);
    }
    out.emit(std::move(m));
  }
};

TEST(RouteGraphCaller, BranchesFedByDifferentThreadsRunInParallel) {
  Registry reg;
  reg.add(std::make_unique<TestStageFactory<Rendezvous>>("rendezvous"));
  auto custom = customStage(reg, "rendezvous");
  ASSERT_NE(custom.factory, nullptr);
  auto b = buildWith(Execution::Caller, 3, 100, false, std::nullopt,
                     [&custom](RouteGraphSpec& s) { s.stages.push_back(custom); });
  RouteGraph& g = *b->graph;
  g.start();
  Rendezvous::inside = 0;
  Rendezvous::met = 0;
  Rendezvous::want = 3;
  std::vector<std::thread> producers;
  for (std::size_t branch = 0; branch < 3; ++branch) {
    producers.emplace_back([&g, branch] {
      Batch batch = makeBatch(branch, 1);
      EXPECT_TRUE(g.tryPush(branch, batch));
    });
  }
  for (auto& t : producers) {
    t.join();
  }
  EXPECT_EQ(Rendezvous::met.load(), 3) << "the three branches did not run at the same time";
  for (auto* s : b->sinks) {
    EXPECT_EQ(s->received(), 1u);
  }
  EXPECT_TRUE(g.stop(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace mqb::pipeline

#pragma once
// Compiles one route into a running oneTBB flow graph. This header does not expose oneTBB; the
// .cc file is the only place in mqbridge that includes it.
//
// Per branch b (b < route.clientCount(), one sink client each), for the stages of
// RouteGraphSpec::stages (normally topic_rewrite, qos, rate_limit, then the route's own):
//
//   tryPush(b) ─► seq ─► [stage 1] ─► seq ─► [stage 2] ─► ... ─► seq ─► sink b
//
// Items are batches (pipeline::Batch) stamped with a per-branch, gap-free batch sequence at
// ingress; each serial stage node is preceded by a sequencer_node, because serial function_nodes
// may forward out of order. A batch that a stage empties still flows to keep the
// sequence gap-free. Memory is bounded by an atomic in-flight message count per route: tryPush
// refuses beyond `capacity`; sinks release messages through their ReleaseFn.
//
// Execution (RouteGraphSpec::execution): by default each branch is its own graph in a single-slot
// arena, run by the thread that pushes (a subscriber's I/O thread); Execution::Workers runs one
// graph on oneTBB's worker threads.
//
// Every node body is a noexcept trampoline: if anything in it throws (Stage::process itself is
// noexcept, so in practice an allocation failure of the graph's own bookkeeping), the batch's
// messages are settled Dropped, counted as DropReason::StageError and released, and the empty
// batch flows on; the graph is never cancelled. RouteGraphSpec::beforeNodeForTest exercises it.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"
#include "metrics/route_metrics.h"
#include "pipeline/clock.h"
#include "pipeline/ingress.h"
#include "pipeline/registry.h"
#include "pipeline/sink.h"

namespace mqb::pipeline {

/// Where the node bodies of a route run.
enum class Execution {
  /// Each branch is a flow graph of its own in a single-slot oneTBB arena (no worker threads):
  /// the thread that pushes a batch runs it through every node to the sink before tryPush
  /// returns. A subscriber's I/O thread carries its messages to the publisher with no hand-off
  /// and no worker spinning for the next task; branches fed by different threads (a shared
  /// subscription: one subscriber per branch) run in parallel. A second thread pushing into a
  /// busy branch waits for it (a mutex per branch). Nodes must not block, nor push into their own
  /// branch.
  Caller,
  /// One flow graph for the route, run by oneTBB's worker threads: tryPush only enqueues. For one
  /// producer feeding many branches (the synthetic source of `mqbridge loadtest`).
  Workers,
};

/// Everything needed to compile one route.
struct RouteGraphSpec {
  const config::RouteSpec* route = nullptr;  ///< must outlive the graph
  /// Every stage of the route in order, validated: Registry::parseStages over
  /// config::stageChain (the route's topic_rewrite, qos and rate_limit, then its own stages).
  std::vector<ConfiguredStage> stages;
  /// One sink per branch (route->clientCount()); the graph owns them.
  std::vector<SinkPtr> sinks;
  /// One per branch, or empty (no metrics).
  std::vector<metrics::RouteMetrics> metrics;
  const Clock* clock = &SystemClock::instance();
  /// Maximum messages admitted and not yet released by the sinks, for the whole route.
  std::size_t capacity = 10000;
  /// Runs all stages of a branch in one serial node instead of one node per stage (fewer task
  /// hand-offs; see bench/pipeline_bench.cc for the measured difference).
  bool fuseStages = false;
  Execution execution = Execution::Caller;
  /// Test hook: called at the start of every stage node body (branch, node index); may throw to
  /// exercise the node's exception trampoline.
  std::function<void(std::size_t branch, std::size_t node)> beforeNodeForTest;
};

/// A compiled, runnable route. Thread-safe as an Ingress; start/stop from one controlling thread.
class RouteGraph final : public Ingress {
 public:
  /// Validates and builds. Returns null and reports into `diag` if a stage failed validation or
  /// the number of sinks (or metrics) does not match the route's branches.
  static std::unique_ptr<RouteGraph> build(RouteGraphSpec spec, config::Diagnostics& diag);

  /// Stops (zero drain) if still running, then destroys the nodes before the graph.
  ~RouteGraph() override;
  RouteGraph(const RouteGraph&) = delete;
  RouteGraph& operator=(const RouteGraph&) = delete;

  /// Starts the sinks and opens the ingress. Before start, tryPush refuses.
  void start();
  /// Closes the ingress, lets every admitted batch flow to the sinks, waits up to `drain` for the
  /// sinks to release everything, then stops the sinks. Returns true if nothing was left in
  /// flight. Idempotent.
  bool stop(std::chrono::milliseconds drain);

  std::size_t branches() const noexcept override;
  /// Puts `batch` on `branch` (for sources that own a branch, e.g. one shared-subscription
  /// subscriber per branch). Never waits for room: false (batch untouched) when closed, when the
  /// route's in-flight limit would be exceeded, or when branch is out of range; on success the
  /// batch is moved from. Execution::Caller: the calling thread has run the batch through every
  /// node to the sink when this returns. A batch larger than capacity() is always refused. An
  /// empty batch is accepted and ignored.
  bool tryPush(std::size_t branch, Batch& batch) noexcept override;
  /// Like tryPush, on the next branch in round-robin order (for one producer feeding N branches).
  /// A refused batch does not advance the rotation.
  bool tryPushAny(Batch& batch) noexcept;
  std::size_t inflight() const noexcept override;
  std::size_t capacity() const noexcept override;

  /// Flow-graph nodes per branch (stage nodes + sequencers + sink), for benchmarks and tests.
  std::size_t nodesPerBranch() const noexcept;
  /// Messages dropped because a node body threw (counted as DropReason::StageError).
  std::uint64_t stageErrors() const noexcept;
  /// Highest in-flight count observed (tests of the cap).
  std::size_t inflightHighWater() const noexcept;

  struct Impl;

 private:
  explicit RouteGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqb::pipeline

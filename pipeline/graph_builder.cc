#include "pipeline/graph_builder.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/log.h"
#include "pipeline/route_counters.h"

namespace mqb::pipeline {

namespace flow = oneapi::tbb::flow;

namespace {

/// What flows between nodes: a heap batch and its per-branch sequence number. Trivially copyable
/// (flow-graph buffers copy items); ownership of `batch` passes along the edges and ends in the
/// sink node, which deletes it. Every item reaches the sink node: nodes never drop items.
struct Item {
  std::uint64_t seq = 0;
  Batch* batch = nullptr;
};

/// Collects what a stage emits, in place when it can: a stage that re-emits the message it was
/// given (the common 1:1 case) costs no move at all; a message moves down only to fill a gap left
/// by a filtered one. Fan-out (a fork, or a new message) switches to an output vector.
class BatchEmitter final : public Emitter {
 public:
  void begin(Batch& in, Batch& spill) noexcept {
    in_ = &in;
    spill_ = &spill;
    spill.clear();
    inPlace_ = true;
    write_ = 0;
    failed_ = 0;
  }
  void next(std::size_t i) noexcept {
    cur_ = &(*in_)[i];
    curEmitted_ = false;
  }
  void emit(Message&& m) noexcept override {
    if (inPlace_ && &m == cur_ && !curEmitted_) {
      curEmitted_ = true;
      Message* slot = &(*in_)[write_++];
      if (slot != cur_) {
        *slot = std::move(m);
      }
      return;
    }
    try {
      if (inPlace_) {  // switch: move what was kept so far to the spill vector
        spill_->reserve(in_->size() + 1);
        for (std::size_t k = 0; k < write_; ++k) {
          spill_->push_back(std::move((*in_)[k]));
        }
        inPlace_ = false;
      }
      spill_->push_back(std::move(m));
    } catch (...) {  // allocation failure: this message is lost, say so
      m.completion.settle(Outcome::Dropped);
      ++failed_;
    }
  }
  /// Leaves the stage's output in `in`.
  void finish() noexcept {
    if (inPlace_) {
      in_->erase(in_->begin() + static_cast<std::ptrdiff_t>(write_), in_->end());
    } else {
      in_->swap(*spill_);
      spill_->clear();
    }
  }
  std::size_t failed() const noexcept { return failed_; }

 private:
  Batch* in_ = nullptr;
  Batch* spill_ = nullptr;
  Message* cur_ = nullptr;
  bool curEmitted_ = false;
  bool inPlace_ = true;
  std::size_t write_ = 0;
  std::size_t failed_ = 0;
};

using SeqNode = flow::sequencer_node<Item>;
using StageNode = flow::function_node<Item, Item>;
using SinkNode = flow::function_node<Item, flow::continue_msg>;

}  // namespace

struct RouteGraph::Impl {
  struct Branch {
    std::size_t index = 0;
    std::vector<StagePtr> stages;
    SinkPtr sink;
    metrics::RouteMetrics metrics;
    bool hasMetrics = false;
    RouteCounters counters;  ///< over `metrics` when hasMetrics; what the stages count into
    std::atomic<std::uint64_t> nextBatch{0};  ///< batch sequence, taken at ingress
    std::uint64_t nextMessage = 0;            ///< message sequence, stamped by node 0 (serial)
    // Per stage node scratch (each node is serial, so no sharing).
    struct NodeState {
      std::size_t first = 0, last = 0;  ///< stages [first, last)
      BatchEmitter emitter;
      Batch spill;
    };
    std::vector<NodeState> nodeStates;
    // Execution::Caller: the branch's own single-slot arena, context and graph (declared before
    // the nodes: destroyed after them). Execution::Workers: `graph` is the route's shared one.
    std::unique_ptr<oneapi::tbb::task_arena> arena;
    std::mutex callerMu;  ///< one thread in `arena` at a time
    std::unique_ptr<oneapi::tbb::task_group_context> context;
    std::unique_ptr<flow::graph> ownGraph;
    flow::graph* graph = nullptr;
    std::vector<std::unique_ptr<SeqNode>> sequencers;
    std::vector<std::unique_ptr<StageNode>> stageNodes;
    std::unique_ptr<SinkNode> sinkNode;
  };

  const config::RouteSpec* route = nullptr;
  std::size_t capacity = 0;
  Execution execution = Execution::Caller;
  std::function<void(std::size_t, std::size_t)> hook;

  std::atomic<std::size_t> inflight{0};
  std::atomic<std::size_t> highWater{0};
  std::atomic<std::size_t> items{0};  ///< batches between ingress and sink node
  std::atomic<std::uint64_t> stageErrors{0};
  std::atomic<std::uint64_t> rr{0};
  std::atomic<bool> accepting{false};
  std::atomic<int> pushing{0};  ///< tryPush calls in progress (stop waits for them)
  bool started = false;
  bool stopped = false;

  // Declaration order is destruction order in reverse: nodes (in branches) go before the graph,
  // the graph before its context. Execution::Workers only (Caller: one per branch).
  oneapi::tbb::task_group_context context{oneapi::tbb::task_group_context::isolated};
  std::unique_ptr<flow::graph> graph;  ///< Execution::Workers only
  std::vector<std::unique_ptr<Branch>> branches;

  void admitGauge(Branch& b, std::size_t n) noexcept {
    if (b.hasMetrics && b.metrics.inflight != nullptr) {
      b.metrics.inflight->Increment(static_cast<double>(n));
    }
  }
  void release(Branch& b, std::size_t n) noexcept {
    if (n == 0) {
      return;
    }
    inflight.fetch_sub(n, std::memory_order_acq_rel);
    if (b.hasMetrics && b.metrics.inflight != nullptr) {
      b.metrics.inflight->Decrement(static_cast<double>(n));
    }
  }
  /// Stages changed a batch from `before` to `after` messages.
  void adjust(Branch& b, std::size_t before, std::size_t after) noexcept {
    if (after < before) {
      release(b, before - after);
    } else if (after > before) {  // fan-out: may exceed capacity briefly; admission catches up
      inflight.fetch_add(after - before, std::memory_order_acq_rel);
      admitGauge(b, after - before);
    }
  }

  bool reserve(std::size_t n) noexcept {
    std::size_t cur = inflight.load(std::memory_order_relaxed);
    do {
      if (n > capacity || cur > capacity - n) {
        return false;
      }
    } while (!inflight.compare_exchange_weak(cur, cur + n, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
    std::size_t hw = highWater.load(std::memory_order_relaxed);
    while (cur + n > hw && !highWater.compare_exchange_weak(hw, cur + n)) {
    }
    if (items.fetch_add(1, std::memory_order_acq_rel) >= capacity) {
      items.fetch_sub(1, std::memory_order_acq_rel);
      inflight.fetch_sub(n, std::memory_order_acq_rel);
      return false;
    }
    return true;
  }
  void unreserve(std::size_t n) noexcept {
    items.fetch_sub(1, std::memory_order_acq_rel);
    inflight.fetch_sub(n, std::memory_order_acq_rel);
  }

  /// Admission of one batch on a branch chosen by `pick` (called only once capacity is held).
  template <typename Pick>
  bool push(Batch& batch, Pick pick) noexcept {
    if (batch.empty()) {
      return true;
    }
    pushing.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
      std::atomic<int>& p;
      ~Leave() { p.fetch_sub(1, std::memory_order_seq_cst); }
    } leave{pushing};
    if (!accepting.load(std::memory_order_seq_cst)) {
      return false;
    }
    const std::size_t n = batch.size();
    if (!reserve(n)) {
      return false;
    }
    Batch* owned = nullptr;
    try {
      owned = new Batch(std::move(batch));
    } catch (...) {
      unreserve(n);
      return false;
    }
    Branch& b = *branches[pick()];
    admitGauge(b, n);
    const std::uint64_t seq = b.nextBatch.fetch_add(1, std::memory_order_relaxed);
    if (execution == Execution::Workers) {
      b.sequencers.front()->try_put(Item{seq, owned});
      return true;
    }
    // Inside the branch's arena the put spawns into this thread's own task pool, and the wait
    // runs every task it leads to (each node's successor is bypassed to the same thread) until
    // the sink node is done. No worker slot exists, so no other thread is woken. The branch's
    // mutex lets one pusher in at a time: a second one sleeps on it instead of going through
    // oneTBB's delegation, and the hand-over is one ThreadSanitizer sees (libtbb's is not).
    std::lock_guard<std::mutex> lk(b.callerMu);
    b.arena->execute([&b, seq, owned] {
      b.sequencers.front()->try_put(Item{seq, owned});
      b.graph->wait_for_all();
    });
    return true;
  }

  /// Body of stage node `node` of branch `b`: a noexcept trampoline.
  Item runStages(Branch& b, std::size_t node, Item it) noexcept {
    Batch& in = *it.batch;
    Branch::NodeState& ns = b.nodeStates[node];
    std::size_t accounted = in.size();  // messages of this batch counted in `inflight`
    try {
      if (hook) {
        hook(b.index, node);
      }
      if (node == 0) {
        for (Message& m : in) {
          m.seq = b.nextMessage++;
          m.branch = static_cast<std::uint32_t>(b.index);
        }
      }
      for (std::size_t s = ns.first; s < ns.last && !in.empty(); ++s) {
        Stage& stage = *b.stages[s];
        ns.emitter.begin(in, ns.spill);
        for (std::size_t i = 0; i < in.size(); ++i) {
          ns.emitter.next(i);
          stage.process(std::move(in[i]), ns.emitter);
        }
        ns.emitter.finish();
        if (ns.emitter.failed() != 0) {
          stageErrors.fetch_add(ns.emitter.failed(), std::memory_order_relaxed);
          if (b.hasMetrics) {
            b.metrics.drop(metrics::DropReason::StageError,
                           static_cast<double>(ns.emitter.failed()));
          }
        }
        adjust(b, accounted, in.size());
        accounted = in.size();
      }
    } catch (...) {
      // Whatever this batch still holds is lost: settle it (moved-from messages have no
      // completion left), count it, release it. The (now empty) batch still flows on so the
      // branch's sequence has no gap.
      const std::size_t lost = accounted;
      for (Message& m : in) {
        m.completion.settle(Outcome::Dropped);
      }
      for (Message& m : ns.spill) {
        m.completion.settle(Outcome::Dropped);
      }
      in.clear();
      ns.spill.clear();
      stageErrors.fetch_add(lost, std::memory_order_relaxed);
      if (b.hasMetrics) {
        b.metrics.drop(metrics::DropReason::StageError, static_cast<double>(lost));
      }
      release(b, accounted);
      static log::Every every(std::chrono::seconds(10));
      std::uint64_t suppressed = 0;
      if (every.allow(&suppressed)) {
        try {
          log::error("stage_exception", {{"route", route->name},
                                         {"branch", b.index},
                                         {"node", node},
                                         {"lost", lost},
                                         {"suppressed", suppressed}});
        } catch (...) {
        }
      }
    }
    return it;
  }

  flow::continue_msg runSink(Branch& b, Item it) noexcept {
    std::unique_ptr<Batch> owned(it.batch);
    if (!owned->empty()) {
      b.sink->write(std::move(*owned));
    }
    owned.reset();
    items.fetch_sub(1, std::memory_order_acq_rel);
    return {};
  }
};

namespace {

/// Reports what makes `spec` unbuildable; true if nothing does.
bool checkSpec(const RouteGraphSpec& spec, std::size_t branches, config::Diagnostics& diag) {
  const config::RouteSpec& route = *spec.route;
  const std::size_t errorsBefore = diag.errorCount();
  if (spec.sinks.size() != branches) {
    diag.error(route.where, route.path,
               "internal: " + std::to_string(spec.sinks.size()) + " sinks for " +
                   std::to_string(branches) + " branches");
  }
  for (const auto& s : spec.sinks) {
    if (!s) {
      diag.error(route.where, route.path, "internal: null sink");
    }
  }
  if (!spec.metrics.empty() && spec.metrics.size() != branches) {
    diag.error(route.where, route.path,
               "internal: metrics for " + std::to_string(spec.metrics.size()) + " of " +
                   std::to_string(branches) + " branches");
  }
  if (spec.capacity == 0) {
    diag.error(route.where, route.path, "internal: in-flight capacity must be > 0");
  }
  for (const auto& c : spec.stages) {
    if (c.factory == nullptr || !c.config) {
      diag.error(route.where, c.path, "stage \"" + c.type + "\" failed validation");
    }
  }
  return diag.errorCount() == errorsBefore;
}

/// Creates the branch's stages and lays them out on nodes: fused = one node running every stage;
/// otherwise one node per stage.
void createStages(RouteGraph::Impl& I, RouteGraph::Impl::Branch& b,
                  const std::vector<ConfiguredStage>& configured, const Clock* clock, bool fuse);

/// Makes the branch's flow graph (Execution::Caller: its own, in its own single-slot arena;
/// Workers: the route's) and its nodes, and connects them.
void wireNodes(RouteGraph::Impl& I, RouteGraph::Impl::Branch& b);

}  // namespace

std::unique_ptr<RouteGraph> RouteGraph::build(RouteGraphSpec spec, config::Diagnostics& diag) {
  if (spec.route == nullptr) {
    diag.error({}, "", "RouteGraph::build: no route");
    return nullptr;
  }
  const std::size_t n = static_cast<std::size_t>(std::max(1, spec.route->clientCount()));
  if (!checkSpec(spec, n, diag)) {
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  Impl& I = *impl;
  I.route = spec.route;
  I.capacity = spec.capacity;
  I.execution = spec.execution;
  if (I.execution == Execution::Workers) {
    I.graph = std::make_unique<flow::graph>(I.context);
  }
  I.hook = std::move(spec.beforeNodeForTest);
  const Clock* clock = spec.clock != nullptr ? spec.clock : &SystemClock::instance();
  for (std::size_t bi = 0; bi < n; ++bi) {
    auto bp = std::make_unique<Impl::Branch>();
    Impl::Branch& b = *bp;
    b.index = bi;
    b.sink = std::move(spec.sinks[bi]);
    if (!spec.metrics.empty()) {
      b.metrics = spec.metrics[bi];
      b.hasMetrics = true;
    }
    createStages(I, b, spec.stages, clock, spec.fuseStages);
    wireNodes(I, b);
    I.branches.push_back(std::move(bp));
  }
  return std::unique_ptr<RouteGraph>(new RouteGraph(std::move(impl)));
}

namespace {

void createStages(RouteGraph::Impl& I, RouteGraph::Impl::Branch& b,
                  const std::vector<ConfiguredStage>& configured, const Clock* clock, bool fuse) {
  b.counters.bind(b.hasMetrics ? &b.metrics : nullptr);
  StageContext ctx;
  ctx.route = I.route->name;
  ctx.branch = static_cast<std::uint32_t>(b.index);
  ctx.clock = clock;
  ctx.counters = b.hasMetrics ? &b.counters : nullptr;
  for (const auto& c : configured) {
    b.stages.push_back(c.factory->create(c.config, ctx));
  }
  const std::size_t k = b.stages.size();
  if (fuse) {
    b.nodeStates.resize(1);
    b.nodeStates[0].first = 0;
    b.nodeStates[0].last = k;
  } else {
    b.nodeStates.resize(k);
    for (std::size_t s = 0; s < k; ++s) {
      b.nodeStates[s].first = s;
      b.nodeStates[s].last = s + 1;
    }
  }
}

void wireNodes(RouteGraph::Impl& I, RouteGraph::Impl::Branch& b) {
  if (I.execution == Execution::Caller) {
    // One master slot and no worker slot: only the thread inside execute() runs tasks. The
    // graph attaches to the arena it is constructed in. concurrent_wait: wait_for_all does not
    // reset the context under another thread's wait.
    b.arena = std::make_unique<oneapi::tbb::task_arena>(1, 1);
    b.context = std::make_unique<oneapi::tbb::task_group_context>(
        oneapi::tbb::task_group_context::isolated,
        oneapi::tbb::task_group_context::default_traits |
            oneapi::tbb::task_group_context::concurrent_wait);
    b.arena->execute([&b] { b.ownGraph = std::make_unique<flow::graph>(*b.context); });
    b.graph = b.ownGraph.get();
  } else {
    b.graph = I.graph.get();
  }
  flow::graph& g = *b.graph;
  auto seqOf = [](const Item& it) -> std::size_t { return it.seq; };
  for (std::size_t node = 0; node < b.nodeStates.size(); ++node) {
    b.sequencers.push_back(std::make_unique<SeqNode>(g, seqOf));
    b.stageNodes.push_back(std::make_unique<StageNode>(
        g, flow::serial,
        [&I, &b, node](const Item& it) noexcept { return I.runStages(b, node, it); }));
  }
  b.sequencers.push_back(std::make_unique<SeqNode>(g, seqOf));
  b.sinkNode = std::make_unique<SinkNode>(
      g, flow::serial, [&I, &b](const Item& it) noexcept { return I.runSink(b, it); });
  for (std::size_t node = 0; node < b.stageNodes.size(); ++node) {
    flow::make_edge(*b.sequencers[node], *b.stageNodes[node]);
    flow::make_edge(*b.stageNodes[node], *b.sequencers[node + 1]);
  }
  flow::make_edge(*b.sequencers.back(), *b.sinkNode);
  b.sink->setRelease([&I, &b](std::size_t count) { I.release(b, count); });
}

}  // namespace

RouteGraph::RouteGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RouteGraph::~RouteGraph() {
  stop(std::chrono::milliseconds(0));
  // Nodes first (they reference the branches), then the graph (Impl member order).
  for (auto& b : impl_->branches) {
    b->sinkNode.reset();
    b->stageNodes.clear();
    b->sequencers.clear();
    b->ownGraph.reset();
  }
}

void RouteGraph::start() {
  Impl& I = *impl_;
  if (I.started) {
    return;
  }
  I.started = true;
  if (I.execution == Execution::Workers) {
    I.graph->reserve_wait();  // an external producer feeds the graph: keep it alive between pushes
  }
  for (auto& b : I.branches) {
    b->sink->start();
  }
  I.accepting.store(true, std::memory_order_seq_cst);
}

bool RouteGraph::stop(std::chrono::milliseconds drain) {
  Impl& I = *impl_;
  if (!I.started || I.stopped) {
    return I.inflight.load() == 0;
  }
  I.stopped = true;
  // 1. Close the ingress and wait for pushes in progress (they never block).
  I.accepting.store(false, std::memory_order_seq_cst);
  while (I.pushing.load(std::memory_order_seq_cst) != 0) {
    std::this_thread::yield();
  }
  // 2. Drop the external reservation and let every admitted batch reach its sink node (Caller:
  // every push ran to the sink before it returned; the wait only confirms it).
  if (I.execution == Execution::Workers) {
    I.graph->release_wait();
    I.graph->wait_for_all();
  } else {
    for (auto& b : I.branches) {
      std::lock_guard<std::mutex> lk(b->callerMu);
      b->arena->execute([&b] { b->graph->wait_for_all(); });
    }
  }
  // wait_for_all's acquire happens inside libtbb, which ThreadSanitizer does not see. The sink
  // nodes' last writes to our own state are RMWs of `items` (one release sequence): reading it
  // here with acquire makes the order visible, so tearing the graph down after stop() is not
  // reported as a race with the last sink node body.
  (void)I.items.load(std::memory_order_acquire);
  // 3. Give the sinks until the deadline to release what they hold.
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (I.inflight.load() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // 4. Stop the sinks (they settle and release whatever is left).
  for (auto& b : I.branches) {
    b->sink->stop();
  }
  return I.inflight.load() == 0;
}

std::size_t RouteGraph::branches() const noexcept { return impl_->branches.size(); }

bool RouteGraph::tryPush(std::size_t branch, Batch& batch) noexcept {
  if (branch >= impl_->branches.size()) {
    return false;
  }
  return impl_->push(batch, [branch] { return branch; });
}

bool RouteGraph::tryPushAny(Batch& batch) noexcept {
  Impl& I = *impl_;
  const std::size_t n = I.branches.size();
  return I.push(batch, [&I, n] {
    return static_cast<std::size_t>(I.rr.fetch_add(1, std::memory_order_relaxed) % n);
  });
}

std::size_t RouteGraph::inflight() const noexcept { return impl_->inflight.load(); }
std::size_t RouteGraph::capacity() const noexcept { return impl_->capacity; }
std::size_t RouteGraph::nodesPerBranch() const noexcept {
  const auto& b = *impl_->branches.front();
  return b.sequencers.size() + b.stageNodes.size() + 1;
}
std::uint64_t RouteGraph::stageErrors() const noexcept { return impl_->stageErrors.load(); }
std::size_t RouteGraph::inflightHighWater() const noexcept { return impl_->highWater.load(); }

}  // namespace mqb::pipeline

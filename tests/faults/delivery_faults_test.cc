// Fault injection against `mqbridge run` (a child process) between two real mosquitto brokers:
// QoS 1, every message numbered, loss and duplicates counted exactly, one line of figures per
// case ("[fault] ..."): remote killed and restarted, remote frozen, local restarted, bridge
// killed, bridge stopped with SIGTERM, a 100,000-message outage drained in order, a remote with
// Receive Maximum 2, a torn spool segment, reloads, and the spec's looping topic map.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bridge_runner.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "f/data";

std::string connectorYaml(const MosquittoBroker& local, const MosquittoBroker& remote,
                          const std::string& extra = "") {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeConnector\n"
         "metadata:\n  name: faults\n  namespace: test\n"
         "spec:\n"
         "  image: {repository: mqbridge, tag: test, pullPolicy: IfNotPresent}\n"
         "  protocol: v5\n  bridgeInstances: 1\n  clientIdPrefix: fb-\n  logLevel: info\n"
         "  remoteBrokerConnection:\n    endpoint: " +
         remote.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n"
         "  localBrokerConnection:\n    endpoint: " +
         local.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n" + extra;
}

/// One local-to-remote QoS 1 route f/# -> same topic, plus `routeExtra` lines (indented 6).
std::string bridgeYaml(const MosquittoBroker& local, const MosquittoBroker& remote,
                       const std::string& routeExtra = "") {
  return connectorYaml(local, remote) +
         "---\n"
         "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeTopicMap\n"
         "metadata:\n  name: faults-map\n  namespace: test\n"
         "spec:\n  mqttBridgeConnectorRef: faults\n  routes:\n"
         "    - direction: local-to-remote\n      name: up\n      qos: 1\n      source: f/#\n" +
         routeExtra;
}

TestClientOptions clientFor(const MosquittoBroker& b, const std::string& id, bool persistent) {
  TestClientOptions o;
  o.uri = b.uri();
  o.clientId = id;
  o.cleanStart = !persistent;
  return o;
}

/// Exact accounting of numbered payloads "<prefix><i>".
struct Tally {
  std::size_t unique = 0;
  std::size_t duplicates = 0;
  std::size_t missing = 0;
  std::size_t outOfOrder = 0;  ///< first deliveries that came after a higher number
  std::vector<int> seen;       ///< deliveries of each number
};

Tally tally(const std::vector<ReceivedMessage>& got, int n, const std::string& prefix) {
  Tally t;
  std::vector<int>& seen = t.seen;
  seen.assign(static_cast<std::size_t>(n), 0);
  int highest = -1;
  for (const auto& m : got) {
    if (m.payload.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const int i = std::atoi(m.payload.c_str() + prefix.size());
    if (i < 0 || i >= n) {
      continue;
    }
    if (seen[static_cast<std::size_t>(i)]++ == 0) {
      ++t.unique;
      if (i < highest) {
        ++t.outOfOrder;
      }
      highest = std::max(highest, i);
    } else {
      ++t.duplicates;
    }
  }
  t.missing = static_cast<std::size_t>(n) - t.unique;
  return t;
}

std::size_t uniqueCount(const std::vector<ReceivedMessage>& got, int n, const std::string& prefix) {
  return tally(got, n, prefix).unique;
}

/// Every number "<prefix><0..n-1>" arrived, but perhaps those in `excused`.
bool allArrived(const std::vector<ReceivedMessage>& got, int n, const std::string& prefix,
                const std::set<int>& excused) {
  const Tally t = tally(got, n, prefix);
  for (int i = 0; i < n; ++i) {
    if (t.seen[static_cast<std::size_t>(i)] == 0 && excused.count(i) == 0) {
      return false;
    }
  }
  return true;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// Recovery after a fault: `resumed` = from the end of the fault until the reader got a message
/// again; `complete` = until it had every message.
struct Recovery {
  double resumed = 0;
  double complete = 0;
};

void report(const char* name, int sent, const Tally& t, const Recovery& r,
            const std::string& extra = "") {
  std::printf(
      "[fault] %-26s sent %6d  received %6zu  loss %zu  duplicates %zu  out-of-order %zu  "
      "resumed after %.2f s, complete after %.2f s%s\n",
      name, sent, t.unique, t.missing, t.duplicates, t.outOfOrder, r.resumed, r.complete,
      extra.c_str());
  std::fflush(stdout);
}

/// A reader on the remote with a persistent session the remote broker keeps across a SIGKILL:
/// the session is created, then the broker is restarted cleanly so it is in the persistence file.
class RemoteReader {
 public:
  RemoteReader(MosquittoBroker& remote, bool sessionInDatabase) : remote_(remote) {
    {
      TestClient c(clientFor(remote_, "fault-reader", true));
      EXPECT_TRUE(c.connect());
      EXPECT_TRUE(c.subscribe("f/#", 1));
    }
    if (sessionInDatabase) {
      EXPECT_TRUE(remote_.restart(false));
    }
    reconnect();
  }
  /// After the broker came back: a new connection to the same session.
  void reconnect() {
    if (client_) {
      auto old = client_->received();
      kept_.insert(kept_.end(), std::make_move_iterator(old.begin()),
                   std::make_move_iterator(old.end()));
    }
    client_ = std::make_unique<TestClient>(clientFor(remote_, "fault-reader", true));
    EXPECT_TRUE(client_->connect(10s)) << client_->lastError();
  }
  std::vector<ReceivedMessage> all() const {
    std::vector<ReceivedMessage> out;
    for (const auto& m : kept_) {
      out.push_back(m);
    }
    auto now = client_->received();
    out.insert(out.end(), std::make_move_iterator(now.begin()), std::make_move_iterator(now.end()));
    return out;
  }
  std::size_t count() const { return kept_.size() + client_->receivedCount(); }

  /// Waits until every message "<prefix><0..n-1>" arrived, timing from `faultEnd` (when the
  /// reader had `before` messages). Numbers in `excused` need not come (a killed broker lost
  /// them: it acknowledged them and died before its reader had them).
  Recovery waitAll(int n, const std::string& prefix, Clock::time_point faultEnd, std::size_t before,
                   std::chrono::seconds timeout = std::chrono::seconds(60),
                   const std::set<int>& excused = {}) {
    Recovery r;
    bool resumed = false;
    waitFor(
        [&] {
          if (!resumed && count() > before) {
            resumed = true;
            r.resumed = seconds(Clock::now() - faultEnd);
          }
          return allArrived(all(), n, prefix, excused);
        },
        timeout, std::chrono::milliseconds(20));
    r.complete = seconds(Clock::now() - faultEnd);
    if (!resumed) {
      r.resumed = r.complete;
    }
    return r;
  }

 private:
  MosquittoBroker& remote_;
  std::unique_ptr<TestClient> client_;
  std::vector<ReceivedMessage> kept_;
};

/// Publishes `n` numbered QoS 1 messages on the local broker from a thread.
class Publisher {
 public:
  Publisher(MosquittoBroker& local, int n, std::string prefix = "m", std::size_t pad = 0)
      : local_(local), n_(n), prefix_(std::move(prefix) + std::string(pad, 'x')) {}
  ~Publisher() { join(); }
  void start(int from = 0, int to = -1) {
    thread_ = std::thread([this, from, to] {
      TestClient c(clientFor(local_, "fault-writer-" + std::to_string(from), false));
      if (!c.connect(10s)) {
        return;
      }
      const int end = to < 0 ? n_ : to;
      // In slices so the progress is visible.
      for (int i = from; i < end; i += 500) {
        const int k = std::min(500, end - i);
        if (!publishRange(c, i, k)) {
          return;
        }
        done_.store(i + k);
      }
      ok_.store(true);
    });
  }
  bool join() {
    if (thread_.joinable()) {
      thread_.join();
    }
    return ok_.load();
  }
  int published() const { return done_.load(); }
  const std::string& prefix() const { return prefix_; }

 private:
  bool publishRange(TestClient& c, int from, int k) {
    return c.publishMany(kTopic, k, prefix_, 1, 20s, from);
  }
  MosquittoBroker& local_;
  int n_;
  std::string prefix_;
  std::thread thread_;
  std::atomic<int> done_{0};
  std::atomic<bool> ok_{false};
};

class Faults : public ::testing::Test {
 protected:
  void startBrokers(BrokerOptions localOptions = {}, BrokerOptions remoteOptions = {}) {
    remoteOptions.persistence = true;
    // The test's publisher keeps 50 QoS 1 messages in flight: above mosquitto's default Receive
    // Maximum (20) Paho refills its window only once a second.
    localOptions.extraConfig.push_back("max_inflight_messages 100");
    local_ = std::make_unique<MosquittoBroker>(localOptions);
    remote_ = std::make_unique<MosquittoBroker>(remoteOptions);
    ASSERT_TRUE(local_->start());
    ASSERT_TRUE(remote_->start());
  }
  /// A bridge (not started yet) running `yaml`, with the binary's default drain time.
  void launch(const std::string& yaml) {
    BridgeRunnerOptions o;
    o.drainSeconds = "";
    bridge_ = std::make_unique<BridgeRunner>(std::move(o));
    bridge_->writeConfig("bridge.yaml", yaml);
  }
  double spooled() const { return bridge_->metric("mqbridge_spool_messages", {"route=\"up\""}); }
  void dumpOnFailure() {
    if (HasFailure() && bridge_) {
      std::fprintf(stderr, "--- bridge log (tail) ---\n%s\n", tail(bridge_->log(), 6000).c_str());
    }
  }
  static std::string tail(const std::string& s, std::size_t n) {
    return s.size() > n ? s.substr(s.size() - n) : s;
  }
  void TearDown() override { dumpOnFailure(); }

  std::unique_ptr<MosquittoBroker> local_;
  std::unique_ptr<MosquittoBroker> remote_;
  std::unique_ptr<BridgeRunner> bridge_;
};

std::set<int> numbers(const std::vector<ReceivedMessage>& got, const std::string& prefix) {
  std::set<int> out;
  for (const auto& m : got) {
    if (m.payload.compare(0, prefix.size(), prefix) == 0) {
      out.insert(std::atoi(m.payload.c_str() + prefix.size()));
    }
  }
  return out;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// A broker killed with SIGKILL loses what it held in memory, including messages it had already
// acknowledged to the bridge and not yet passed to its subscriber: that loss is the broker's.
// The bridge forwards in order and the broker acknowledges in order, so the messages the killed
// broker acknowledged are the first `acked` numbers (its log counts its PUBACKs) and its reader
// had a prefix of them. The test requires every missing number to lie in between (broker loss),
// i.e. the bridge lost nothing it had not been acknowledged for.
TEST_F(Faults, RemoteKilledAndRestartedMidStream) {
  startBrokers();
  RemoteReader reader(*remote_, true);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 5000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(waitFor([&] { return reader.count() >= 1000; }, 30s));
  remote_->kill();
  const auto acked = static_cast<int>(occurrences(remote_->logText(), "Sending PUBACK to fb-up"));
  const std::set<int> beforeKill = numbers(reader.all(), "m");
  int prefix = 0;
  while (beforeKill.count(prefix) != 0) {
    ++prefix;
  }
  // Acknowledged by the broker but not at its reader when it died: mosquitto held them in memory
  // only (its autosave is every 30 min). Waiting for them would only run into the timeout.
  std::set<int> atRisk;
  for (int i = prefix; i < acked; ++i) {
    if (beforeKill.count(i) == 0) {
      atRisk.insert(i);
    }
  }
  // Down until the bridge has spooled a backlog.
  EXPECT_TRUE(waitFor([&] { return spooled() >= 500; }, 30s));
  ASSERT_TRUE(remote_->start());
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  reader.reconnect();
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0, 30s, atRisk);
  const auto t = tally(reader.all(), n, "m");
  const std::set<int> got = numbers(reader.all(), "m");
  int brokerLoss = 0;
  int bridgeLoss = 0;
  for (int i = 0; i < n; ++i) {
    if (got.count(i) == 0) {
      (i >= prefix && i < acked ? brokerLoss : bridgeLoss) += 1;
    }
  }
  report("remote SIGKILL+restart", n, t, rec,
         "  (killed broker had acked " + std::to_string(acked) + ", its reader got the first " +
             std::to_string(prefix) + ": broker loss " + std::to_string(brokerLoss) +
             ", bridge loss " + std::to_string(bridgeLoss) + ")");
  EXPECT_EQ(bridgeLoss, 0);
}

TEST_F(Faults, RemoteFrozenForSeconds) {
  startBrokers();
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 5000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(waitFor([&] { return reader.count() >= 1000; }, 30s));
  remote_->pause();
  const auto frozenAt = Clock::now();
  // Frozen for at least 3 s and until the bridge spooled a backlog.
  EXPECT_TRUE(waitFor([&] { return spooled() >= 500 && Clock::now() - frozenAt >= 3s; }, 30s));
  remote_->resume();
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("remote SIGSTOP 3 s", n, t, rec,
         "  (frozen " + std::to_string(seconds(t0 - frozenAt)).substr(0, 4) + " s)");
  EXPECT_EQ(t.missing, 0u);
}

TEST_F(Faults, LocalBrokerRestarted) {
  BrokerOptions lo;
  lo.persistence = true;  // keeps the bridge's session (and what is queued for it) across restart
  startBrokers(lo);
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 4000;
  {
    Publisher first(*local_, n);
    first.start(0, n / 2);
    ASSERT_TRUE(first.join());
  }
  ASSERT_TRUE(local_->restart(false));
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  Publisher second(*local_, n);
  second.start(n / 2, n);
  ASSERT_TRUE(second.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("local broker restart", n, t, rec);
  EXPECT_EQ(t.missing, 0u);
}

TEST_F(Faults, BridgeKilledMidStreamAndRestarted) {
  startBrokers();
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 5000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(waitFor([&] { return reader.count() >= 1000; }, 30s));
  bridge_->kill();
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("bridge SIGKILL+restart", n, t, rec);
  EXPECT_EQ(t.missing, 0u);
}

TEST_F(Faults, BridgeTerminatedAndRestarted) {
  startBrokers();
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  bridge_->options().drainSeconds = "3";
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 5000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(waitFor([&] { return reader.count() >= 1000; }, 30s));
  const auto s0 = Clock::now();
  EXPECT_EQ(bridge_->stop(), 0);
  const double stopSeconds = seconds(Clock::now() - s0);
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("bridge SIGTERM+restart", n, t, rec,
         "  (exit took " + std::to_string(stopSeconds).substr(0, 4) + " s)");
  EXPECT_EQ(t.missing, 0u);
}

TEST_F(Faults, OutageSpills100kToTheSpoolThenDrainsInOrder) {
  BrokerOptions ro;
  ro.extraConfig = {"max_inflight_messages 1000"};  // a remote that can take the drain
  startBrokers({}, ro);
  RemoteReader reader(*remote_, true);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  remote_->stop();  // the reader's session (subscription) is in the remote's persistence file
  const int n = 100000;
  // 64-byte payloads: "s" + 57 x 'x' + up to 6 digits.
  Publisher pub(*local_, n, "s", 57);
  const auto p0 = Clock::now();
  pub.start();
  ASSERT_TRUE(pub.join());
  ASSERT_TRUE(waitFor([&] { return spooled() >= n; }, 60s)) << spooled();
  const double spoolSeconds = seconds(Clock::now() - p0);
  const double spoolBytes = bridge_->metric("mqbridge_spool_bytes", {"route=\"up\""});
  ASSERT_TRUE(remote_->start());
  const auto t0 = Clock::now();
  // The bridge's own view: forwarded (PUBACKed by the remote) reaches n, with no new traffic.
  Recovery rec;
  bool resumed = false;
  EXPECT_TRUE(waitFor(
      [&] {
        const double f = bridge_->metric("mqbridge_messages_forwarded_total", {"route=\"up\""});
        if (!resumed && f > 0) {
          resumed = true;
          rec.resumed = seconds(Clock::now() - t0);
        }
        return f >= n;
      },
      120s, 20ms));
  rec.complete = seconds(Clock::now() - t0);
  const double drainSeconds = rec.complete - rec.resumed;
  reader.reconnect();
  EXPECT_TRUE(waitFor([&] { return uniqueCount(reader.all(), n, pub.prefix()) == n; }, 60s));
  const auto t = tally(reader.all(), n, pub.prefix());
  char extra[200];
  std::snprintf(extra, sizeof extra,
                "  (spooled %d msgs / %.1f MB in %.1f s; drained in %.2f s = %.0f msg/s)", n,
                spoolBytes / 1e6, spoolSeconds, drainSeconds, n / drainSeconds);
  report("remote outage, 100k spool", n, t, rec, extra);
  EXPECT_EQ(t.missing, 0u);
  EXPECT_EQ(t.outOfOrder, 0u);
}

// overflow: block — the spool is full while the remote is down: the bridge stops consuming (its
// subscriber disconnects; its persistent session makes the local broker queue the rest) instead of
// dropping, then resumes once the backlog drains. Nothing is lost, the spool never exceeds its
// limit.
TEST_F(Faults, FullSpoolBlocksTheSourceThenResumesWithoutLoss) {
  startBrokers();
  RemoteReader reader(*remote_, true);
  const int limit = 2000;
  launch(
      bridgeYaml(*local_, *remote_,
                 "      spool: {maxMessages: " + std::to_string(limit) + ", overflow: block}\n"));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  remote_->stop();
  const int n = 8000;
  Publisher pub(*local_, n, "b");
  pub.start();
  ASSERT_TRUE(pub.join());
  // The spool fills to its pause threshold (the limit minus the subscriber's Receive Maximum, a
  // quarter of the limit) and stays below the limit: the rest waits at the local broker.
  ASSERT_TRUE(waitFor([&] { return spooled() >= limit - limit / 4; }, 60s)) << spooled();
  double maxSpooled = 0;
  const auto w0 = Clock::now();
  while (Clock::now() - w0 < 1s) {  // sample the gauge for a second: it must not pass the limit
    maxSpooled = std::max(maxSpooled, spooled());
    std::this_thread::sleep_for(50ms);
  }
  const double dropped = bridge_->metric("mqbridge_messages_dropped_total", {"route=\"up\""});
  ASSERT_TRUE(remote_->start());
  const auto t0 = Clock::now();
  reader.reconnect();
  const Recovery rec = reader.waitAll(n, "b", t0, 0);
  const auto t = tally(reader.all(), n, "b");
  char extra[160];
  std::snprintf(extra, sizeof extra, "  (spool limit %d, highest %.0f, dropped %.0f)", limit,
                maxSpooled, dropped);
  report("full spool blocks source", n, t, rec, extra);
  EXPECT_LE(maxSpooled, limit);
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(t.missing, 0u);
}

TEST_F(Faults, RemoteWithReceiveMaximumTwo) {
  BrokerOptions ro;
  ro.extraConfig = {"max_inflight_messages 2"};
  startBrokers({}, ro);
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 3000;
  Publisher pub(*local_, n);
  const auto t0 = Clock::now();
  pub.start();
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, 0);
  const auto t = tally(reader.all(), n, "m");
  report("remote receive maximum 2", n, t, rec,
         "  (" + std::to_string(static_cast<int>(n / rec.complete)) + " msg/s end to end)");
  EXPECT_EQ(t.missing, 0u);
  EXPECT_EQ(t.outOfOrder, 0u);
}

TEST_F(Faults, TornSpoolSegmentLosesNothingWritten) {
  startBrokers();
  RemoteReader reader(*remote_, true);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  remote_->stop();
  const int n = 2000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(pub.join());
  ASSERT_TRUE(waitFor([&] { return spooled() >= n; }, 30s));
  bridge_->kill();
  // A crash in the middle of a write: the newest segment ends with half a record.
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::is_directory(bridge_->stateDir())) << bridge_->log();
  fs::path newest;
  for (const auto& e : fs::recursive_directory_iterator(bridge_->stateDir())) {
    if (e.path().extension() == ".seg" && fs::file_size(e.path()) > 0 &&
        (newest.empty() || e.path().filename() > newest.filename())) {
      newest = e.path();
    }
  }
  ASSERT_FALSE(newest.empty());
  std::string head = readFile(newest.string()).substr(0, 40);
  const auto before = fs::file_size(newest);
  {
    std::ofstream out(newest, std::ios::app | std::ios::binary);
    out.write(head.data(), static_cast<std::streamsize>(head.size() / 2));
  }
  ASSERT_EQ(fs::file_size(newest), before + head.size() / 2);
  ASSERT_TRUE(remote_->start());
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  reader.reconnect();
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("torn spool segment", n, t, rec);
  EXPECT_EQ(t.missing, 0u);
  EXPECT_NE(bridge_->log().find("spool_replay"), std::string::npos);
}

TEST_F(Faults, ReloadRebuildsChangedRouteWithoutLossAndRejectsInvalidConfig) {
  startBrokers();
  RemoteReader reader(*remote_, false);
  launch(bridgeYaml(*local_, *remote_));
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  const int n = 5000;
  Publisher pub(*local_, n);
  pub.start();
  ASSERT_TRUE(waitFor([&] { return reader.count() >= 1000; }, 30s));
  // A changed route (new rate limit): rebuilt; its spool carries over.
  bridge_->writeConfig(
      "bridge.yaml",
      bridgeYaml(*local_, *remote_, "      rateLimit: {messagesPerSecond: 1000000}\n"));
  bridge_->signal(SIGHUP);
  const auto t0 = Clock::now();
  const std::size_t c0 = reader.count();
  EXPECT_TRUE(waitFor(
      [&] { return bridge_->metric("mqbridge_config_reloads_total", {"result=\"success\""}) >= 2; },
      20s));
  ASSERT_TRUE(pub.join());
  const Recovery rec = reader.waitAll(n, "m", t0, c0);
  const auto t = tally(reader.all(), n, "m");
  report("reload, route rebuilt", n, t, rec);
  EXPECT_EQ(t.missing, 0u);

  // An invalid configuration is rejected; the running one keeps forwarding.
  bridge_->writeConfig("bridge.yaml", bridgeYaml(*local_, *remote_, "      qos: 7\n"));
  bridge_->signal(SIGHUP);
  EXPECT_TRUE(waitFor(
      [&] { return bridge_->metric("mqbridge_config_reloads_total", {"result=\"failure\""}) >= 1; },
      20s));
  EXPECT_TRUE(bridge_->running());
  TestClient w(clientFor(*local_, "fault-writer-after", false));
  ASSERT_TRUE(w.connect());
  ASSERT_TRUE(w.publish(kTopic, "after-invalid", 1));
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& m : reader.all()) {
          if (m.payload == "after-invalid") {
            return true;
          }
        }
        return false;
      },
      20s));
}

TEST_F(Faults, SpecLoopingTopicMapForwardsEachMessageOnce) {
  startBrokers();
  // The spec's topic map: first-route remote-topic -> local-topic (QoS 0, shared x3) and
  // second-route local-topic -> remote-topic: a loop that the hop marker breaks.
  const std::string yaml =
      connectorYaml(*local_, *remote_) +
      "---\n"
      "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
      "kind: MqttBridgeTopicMap\n"
      "metadata:\n  name: my-topic-map\n  namespace: test\n"
      "spec:\n  mqttBridgeConnectorRef: faults\n  routes:\n"
      "    - direction: remote-to-local\n      name: first-route\n      qos: 0\n"
      "      source: remote-topic\n      target: local-topic\n"
      "      sharedSubscription:\n        groupMinimumShareNumber: 3\n        groupName: group1\n"
      "    - direction: local-to-remote\n      name: second-route\n      qos: 1\n"
      "      source: local-topic\n      target: remote-topic\n";
  launch(yaml);
  ASSERT_TRUE(bridge_->start()) << bridge_->log();
  TestClient remoteReader(clientFor(*remote_, "loop-remote-reader", false));
  TestClient localReader(clientFor(*local_, "loop-local-reader", false));
  ASSERT_TRUE(remoteReader.connect());
  ASSERT_TRUE(localReader.connect());
  ASSERT_TRUE(remoteReader.subscribe("remote-topic", 1));
  ASSERT_TRUE(localReader.subscribe("local-topic", 1));
  TestClient w(clientFor(*local_, "loop-writer", false));
  ASSERT_TRUE(w.connect());
  const int n = 200;
  ASSERT_TRUE(w.publishMany("local-topic", n, "loop"));
  // Each message goes local -> remote once, comes back to first-route, and stops there.
  EXPECT_TRUE(waitFor(
      [&] { return bridge_->metric("mqbridge_messages_dropped_total", {"reason=\"loop\""}) >= n; },
      30s));
  EXPECT_TRUE(remoteReader.waitForCount(n, 20s));
  const auto remoteTally = tally(remoteReader.received(), n, "loop");
  const auto localTally = tally(localReader.received(), n, "loop");
  report("spec looping topic map", n, remoteTally, Recovery{},
         "  (local-topic saw " + std::to_string(localReader.receivedCount()) + ", loop drops " +
             std::to_string(static_cast<int>(
                 bridge_->metric("mqbridge_messages_dropped_total", {"reason=\"loop\""}))) +
             ")");
  EXPECT_EQ(remoteTally.missing, 0u);
  EXPECT_EQ(remoteTally.duplicates, 0u);
  EXPECT_EQ(localTally.duplicates, 0u);  // nothing came back to local-topic
  EXPECT_EQ(localReader.receivedCount(), static_cast<std::size_t>(n));
  EXPECT_EQ(remoteReader.receivedCount(), static_cast<std::size_t>(n));
}

}  // namespace
}  // namespace mqb::test

// Scale-out across bridge instances: three `mqbridge run` processes (--instance-index
// 0..2) against the same two brokers, one connector with bridgeInstances: 3, four routes, one of
// them a shared subscription of 4 (7 clients in total). Checks, with the brokers' logs, that every
// client is connected by exactly one instance and that the assignment is the one
// `mqbridge validate --instances` prints; that every message arrives exactly once in steady state;
// and that SIGKILL + restart of one instance loses nothing (QoS 1, persistent sessions).

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bridge_runner.h"
#include "tests/support/http_get.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;

constexpr int kInstances = 3;
const std::string kPrefix = "mi-";

std::string configYaml(const MosquittoBroker& local, const MosquittoBroker& remote) {
  std::ostringstream y;
  y << "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
       "kind: MqttBridgeConnector\n"
       "metadata:\n  name: scale\n"
       "spec:\n"
       "  image:\n    repository: mqbridge\n    tag: test\n    pullPolicy: IfNotPresent\n"
       "  protocol: v5\n"
       "  bridgeInstances: "
    << kInstances
    << "\n"
       "  clientIdPrefix: "
    << kPrefix
    << "\n"
       "  logLevel: info\n"
       "  remoteBrokerConnection:\n    endpoint: "
    << remote.endpoint()
    << "\n    tls:\n      tlsEnabled: false\n    authentication:\n      anonymous: {}\n"
       "  localBrokerConnection:\n    endpoint: "
    << local.endpoint()
    << "\n    tls:\n      tlsEnabled: false\n    authentication:\n      anonymous: {}\n"
       "---\n"
       "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
       "kind: MqttBridgeTopicMap\n"
       "metadata:\n  name: scale-map\n"
       "spec:\n"
       "  mqttBridgeConnectorRef: scale\n"
       "  routes:\n"
       "    - {name: up-a, direction: local-to-remote, qos: 1, source: a/#}\n"
       "    - {name: up-b, direction: local-to-remote, qos: 1, source: b/#}\n"
       "    - {name: down-c, direction: remote-to-local, qos: 1, source: c/#}\n"
       "    - name: shared\n"
       "      direction: local-to-remote\n"
       "      qos: 1\n"
       "      source: s/#\n"
       "      sharedSubscription:\n"
       "        groupMinimumShareNumber: 4\n"
       "        groupName: grp\n";
  return y.str();
}

/// "  instance 1: mi-shared-0 mi-shared-3" lines of `validate --instances`.
std::map<int, std::set<std::string>> parseAssignment(const std::string& out) {
  std::map<int, std::set<std::string>> m;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = "  instance ";
    if (line.rfind(key, 0) != 0) {
      continue;
    }
    std::istringstream ls(line.substr(key.size()));
    int i = -1;
    char colon = 0;
    ls >> i >> colon;
    std::string id;
    while (ls >> id) {
      if (id != "(idle)") {
        m[i].insert(id);
      }
    }
  }
  return m;
}

/// The bridge's client IDs (the prefix, minus status clients) a broker shows as connected.
std::set<std::string> bridgeIds(const MosquittoBroker& b) {
  std::set<std::string> out;
  for (const auto& id : b.clientIdsConnected()) {
    if (id.rfind(kPrefix, 0) == 0 && id.find("status-") == std::string::npos) {
      out.insert(id);
    }
  }
  return out;
}

std::set<std::string> unite(const MosquittoBroker& a, const MosquittoBroker& b) {
  auto s = bridgeIds(a);
  auto t = bridgeIds(b);
  s.insert(t.begin(), t.end());
  return s;
}

int countOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

struct Tally {
  std::size_t distinct = 0;
  std::size_t duplicates = 0;
  std::size_t missing = 0;
};

/// Compares what `c` received on topics starting with `topicPrefix` with payloads
/// "<tag><i>", i < n.
Tally tally(const TestClient& c, const std::string& topicPrefix, const std::string& tag, int n) {
  std::map<std::string, int> seen;
  for (const auto& m : c.received()) {
    if (m.topic.rfind(topicPrefix, 0) == 0 && m.payload.rfind(tag, 0) == 0) {
      ++seen[m.payload];
    }
  }
  Tally t;
  for (int i = 0; i < n; ++i) {
    const auto it = seen.find(tag + std::to_string(i));
    if (it == seen.end()) {
      ++t.missing;
    } else {
      ++t.distinct;
      t.duplicates += static_cast<std::size_t>(it->second - 1);
    }
  }
  return t;
}

class InstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(local_.start()) << local_.logText();
    ASSERT_TRUE(remote_.start()) << remote_.logText();
    cfg_ = dir_.write("bridge.yaml", configYaml(local_, remote_));
    for (int i = 0; i < kInstances; ++i) {
      ports_.push_back(freePort());
    }
  }

  int readyStatus(int i) {
    return waitForStatus(static_cast<std::uint16_t>(ports_[static_cast<std::size_t>(i)]), "/readyz",
                         200, 20s)
        .status;
  }

  /// Instance `i` (not started); a new one for the same `i` keeps its port and state dir.
  std::unique_ptr<BridgeRunner> makeInstance(int i) {
    BridgeRunnerOptions o;
    o.configArgs = {"-c", cfg_};
    o.stateDir = dir_.file("state-" + std::to_string(i));
    o.metricsPort = ports_[static_cast<std::size_t>(i)];
    o.extraArgs = {"--instance-index", std::to_string(i)};
    return std::make_unique<BridgeRunner>(std::move(o));
  }

  /// Both brokers show exactly `ids` (subscriber on the source side, publisher on the target).
  bool waitConnected(const std::set<std::string>& ids, std::chrono::milliseconds timeout = 30s) {
    return waitFor([&] { return bridgeIds(local_) == ids && bridgeIds(remote_) == ids; }, timeout,
                   50ms);
  }

  MosquittoBroker local_;
  MosquittoBroker remote_;
  TempDir dir_{"mqb-instances"};
  std::string cfg_;
  std::vector<int> ports_;
};

TEST_F(InstancesTest, EachClientOnceAndNothingLostWhenAnInstanceIsKilled) {
  // The assignment as `validate --instances` prints it.
  int status = -1;
  const std::string out = runMqbridge({"validate", "-c", cfg_, "--instances"}, status);
  ASSERT_EQ(status, 0) << out;
  const auto plan = parseAssignment(out);
  ASSERT_EQ(plan.size(), static_cast<std::size_t>(kInstances)) << out;
  std::set<std::string> all;
  std::size_t units = 0;
  for (const auto& [i, ids] : plan) {
    units += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(units, 7u) << out;
  EXPECT_EQ(all.size(), 7u) << out;  // no client planned twice
  for (const auto& [i, ids] : plan) {
    EXPECT_GE(ids.size(), 2u) << "instance " << i << " (7 clients over 3: 3,2,2)";
    EXPECT_LE(ids.size(), 3u) << "instance " << i;
  }

  // Start the instances one at a time: each adds exactly its planned clients on both brokers.
  std::vector<std::unique_ptr<BridgeRunner>> inst;
  std::set<std::string> expected;
  for (int i = 0; i < kInstances; ++i) {
    inst.push_back(makeInstance(i));
    ASSERT_TRUE(inst.back()->spawn());
    expected.insert(plan.at(i).begin(), plan.at(i).end());
    ASSERT_TRUE(waitConnected(expected))
        << "instance " << i << " should add exactly its planned clients\nlocal: "
        << ::testing::PrintToString(bridgeIds(local_))
        << "\nremote: " << ::testing::PrintToString(bridgeIds(remote_)) << "\n"
        << inst.back()->log();
    const auto ready = waitForStatus(static_cast<std::uint16_t>(ports_[i]), "/readyz", 200, 20s);
    ASSERT_EQ(ready.status, 200) << ready.body;
  }
  EXPECT_EQ(unite(local_, remote_), all);
  // No client ID was ever used by two processes at once (mosquitto would take it over).
  EXPECT_EQ(countOf(local_.logText(), "already connected"), 0);
  EXPECT_EQ(countOf(remote_.logText(), "already connected"), 0);

  // Receivers: remote gets a/#, b/#, s/#; local gets c/#.
  TestClientOptions ro;
  ro.uri = remote_.uri();
  ro.clientId = "rx-remote";
  TestClient rxRemote(ro);
  ASSERT_TRUE(rxRemote.connect());
  for (const char* f : {"a/#", "b/#", "s/#"}) {
    ASSERT_TRUE(rxRemote.subscribe(f, 1));
  }
  TestClientOptions lo;
  lo.uri = local_.uri();
  lo.clientId = "rx-local";
  TestClient rxLocal(lo);
  ASSERT_TRUE(rxLocal.connect());
  ASSERT_TRUE(rxLocal.subscribe("c/#", 1));
  TestClientOptions lp = lo;
  lp.clientId = "tx-local";
  TestClient txLocal(lp);
  ASSERT_TRUE(txLocal.connect());
  TestClientOptions rp = ro;
  rp.clientId = "tx-remote";
  TestClient txRemote(rp);
  ASSERT_TRUE(txRemote.connect());

  // Steady state: 4 routes x 400 messages, each exactly once.
  constexpr int kSteady = 400;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(txLocal.publishMany("a/x", kSteady, "A"));
  ASSERT_TRUE(txLocal.publishMany("b/x", kSteady, "B"));
  ASSERT_TRUE(txLocal.publishMany("s/x", kSteady, "S"));
  ASSERT_TRUE(txRemote.publishMany("c/x", kSteady, "C"));
  ASSERT_TRUE(rxRemote.waitForCount(3 * kSteady, 60s)) << rxRemote.receivedCount();
  ASSERT_TRUE(rxLocal.waitForCount(kSteady, 60s)) << rxLocal.receivedCount();
  const double steadyMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& [topic, tag] :
       std::vector<std::pair<std::string, std::string>>{{"a/", "A"}, {"b/", "B"}, {"s/", "S"}}) {
    const Tally t = tally(rxRemote, topic, tag, kSteady);
    EXPECT_EQ(t.missing, 0u) << tag;
    EXPECT_EQ(t.duplicates, 0u) << tag;
  }
  const Tally tc = tally(rxLocal, "c/", "C", kSteady);
  EXPECT_EQ(tc.missing, 0u);
  EXPECT_EQ(tc.duplicates, 0u);
  EXPECT_EQ(rxRemote.receivedCount(), 3u * kSteady);  // nothing extra
  EXPECT_EQ(rxLocal.receivedCount(), static_cast<std::size_t>(kSteady));

  // Kill the instance that serves two shared-subscription clients (SIGKILL: no drain, no clean
  // disconnect), publish while it is down, restart it.
  int victim = -1;
  for (const auto& [i, ids] : plan) {
    if (ids.count(kPrefix + "shared-0") != 0) {
      victim = i;
    }
  }
  ASSERT_GE(victim, 0);
  auto restart = [&] {
    inst[static_cast<std::size_t>(victim)]->signal(SIGKILL);
    EXPECT_TRUE(inst[static_cast<std::size_t>(victim)]->wait(10s).has_value());
  };

  // A. Killed between messages: everything published while it is down waits in its persistent
  // sessions at the broker (shared-subscription messages too) and arrives after the restart.
  rxRemote.clearReceived();
  rxLocal.clearReceived();
  constexpr int kDown = 500;
  restart();
  ASSERT_TRUE(txLocal.publishMany("s/x", kDown, "T"));
  ASSERT_TRUE(txLocal.publishMany("a/x", kDown, "U"));
  ASSERT_TRUE(txRemote.publishMany("c/x", kDown, "V"));
  // The surviving instances keep serving their shared clients meanwhile.
  ASSERT_TRUE(waitFor([&] { return tally(rxRemote, "s/", "T", kDown).distinct > 0; }, 20s));
  const std::size_t whileDown = tally(rxRemote, "s/", "T", kDown).distinct;
  inst[static_cast<std::size_t>(victim)] = makeInstance(victim);
  const auto restartAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(inst[static_cast<std::size_t>(victim)]->spawn());
  ASSERT_TRUE(waitFor(
      [&] {
        return tally(rxRemote, "s/", "T", kDown).missing == 0 &&
               tally(rxRemote, "a/", "U", kDown).missing == 0 &&
               tally(rxLocal, "c/", "V", kDown).missing == 0;
      },
      60s, 20ms))
      << "lost after restart: shared " << tally(rxRemote, "s/", "T", kDown).missing << ", a "
      << tally(rxRemote, "a/", "U", kDown).missing << ", c "
      << tally(rxLocal, "c/", "V", kDown).missing << "\n"
      << inst[static_cast<std::size_t>(victim)]->log();
  const double recoverMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - restartAt)
          .count();
  ASSERT_TRUE(waitConnected(all)) << "after the restart every client is back exactly once";
  const Tally ts = tally(rxRemote, "s/", "T", kDown);
  const Tally ta = tally(rxRemote, "a/", "U", kDown);
  const Tally tv = tally(rxLocal, "c/", "V", kDown);
  EXPECT_EQ(ts.missing + ta.missing + tv.missing, 0u);
  EXPECT_EQ(ts.duplicates + ta.duplicates + tv.duplicates, 0u);
  ASSERT_EQ(readyStatus(victim), 200);

  // B. Killed while messages flow through it: what it had acknowledged to the source broker but
  // not yet published is in its route's disk spool, which the restarted instance (same state dir)
  // replays: nothing may be lost.
  rxRemote.clearReceived();
  constexpr int kFlow = 4000;
  std::atomic<bool> published{false};
  std::thread flow([&] { published = txLocal.publishMany("s/x", kFlow, "K", 1, 120s); });
  // Kill once a quarter has arrived: the victim is in the middle of its share.
  const bool midFlow =
      waitFor([&] { return tally(rxRemote, "s/", "K", kFlow).distinct >= kFlow / 4; }, 60s, 1ms);
  const std::size_t atKill = tally(rxRemote, "s/", "K", kFlow).distinct;
  restart();
  flow.join();
  ASSERT_TRUE(midFlow);
  ASSERT_TRUE(published);
  inst[static_cast<std::size_t>(victim)] = makeInstance(victim);
  ASSERT_TRUE(inst[static_cast<std::size_t>(victim)]->spawn());
  waitFor([&] { return tally(rxRemote, "s/", "K", kFlow).missing == 0; }, 20s, 20ms);
  const Tally tk = tally(rxRemote, "s/", "K", kFlow);
  EXPECT_EQ(tk.missing, 0u) << "lost in the killed instance\n"
                            << inst[static_cast<std::size_t>(victim)]->log();
  ASSERT_TRUE(waitConnected(all));

  std::cout << "[ instances ] 3 processes, 7 clients planned 3/2/2 as `validate --instances` "
            << "prints; brokers show " << unite(local_, remote_).size()
            << " distinct bridge client IDs, 0 takeovers\n"
            << "[ instances ] steady state: " << 4 * kSteady << " QoS 1 messages on 4 routes, "
            << "0 lost, 0 duplicated, " << static_cast<int>(steadyMs) << " ms\n"
            << "[ instances ] A: SIGKILL of idle instance " << victim << ", " << 3 * kDown
            << " messages published while down (" << whileDown << " of " << kDown
            << " shared ones served by the others meanwhile): "
            << ts.missing + ta.missing + tv.missing << " lost, "
            << ts.duplicates + ta.duplicates + tv.duplicates << " duplicated, all in "
            << static_cast<int>(recoverMs) << " ms after the restart\n"
            << "[ instances ] B: SIGKILL mid-flow (" << atKill << " of " << kFlow
            << " shared messages delivered at the kill): " << tk.missing << " lost, "
            << tk.duplicates << " duplicated\n";

  for (auto& p : inst) {
    p->signal(SIGTERM);
  }
  for (auto& p : inst) {
    const auto rc = p->wait(20s);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << p->log();
  }
}

}  // namespace
}  // namespace mqb::test

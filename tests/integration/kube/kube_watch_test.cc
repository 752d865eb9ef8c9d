// `mqbridge run --kube` against a stand-in API server (tests/support/fake_kube_api.py: list,
// watch with resourceVersion, 410 Gone, Events, over HTTPS with a bearer token): applying,
// changing and deleting a topic map starts, changes and stops routes in the running bridge; an
// invalid topic map is reported (log and Event) and changes nothing; a compaction forces a
// relist; a route that was never touched loses no message and duplicates none; and a connector's
// stagePlugins are loaded before its topic maps' stages are checked and built.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "tests/support/bridge_runner.h"
#include "tests/support/child_process.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/http_get.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;

const std::string kToken = "test-token-7f3a";

std::string connectorJson(const MosquittoBroker& local, const MosquittoBroker& remote) {
  return R"({"apiVersion":"mq.iotoperations.azure.com/v1beta1","kind":"MqttBridgeConnector",)"
         R"("metadata":{"name":"kc","namespace":"bridge-ns"},"spec":{)"
         R"("image":{"repository":"mqbridge","tag":"t","pullPolicy":"IfNotPresent"},)"
         R"("protocol":"v5","bridgeInstances":1,"clientIdPrefix":"kw-","logLevel":"info",)"
         R"("remoteBrokerConnection":{"endpoint":")" +
         remote.endpoint() +
         R"(","tls":{"tlsEnabled":false},"authentication":{"anonymous":{}}},)"
         R"("localBrokerConnection":{"endpoint":")" +
         local.endpoint() + R"(","tls":{"tlsEnabled":false},"authentication":{"anonymous":{}}}}})";
}

std::string topicMapJson(const std::string& name, const std::string& routes) {
  return R"({"apiVersion":"mq.iotoperations.azure.com/v1beta1","kind":"MqttBridgeTopicMap",)"
         R"("metadata":{"name":")" +
         name + R"(","namespace":"bridge-ns"},"spec":{"mqttBridgeConnectorRef":"kc","routes":[)" +
         routes + "]}}";
}

std::string route(const std::string& name, const std::string& source, int qos = 1) {
  return R"({"name":")" + name + R"(","direction":"local-to-remote","qos":)" + std::to_string(qos) +
         R"(,"source":")" + source + R"("})";
}

class KubeWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(local_.start()) << local_.logText();
    ASSERT_TRUE(remote_.start()) << remote_.logText();
    ns_ = dir_.write("namespace", "bridge-ns\n");
    ASSERT_TRUE(api_.start()) << api_.log();
  }

  void apply(const std::string& json) {
    ASSERT_TRUE(api_.apply(nlohmann::json::parse(json))) << json;
  }
  void remove(const std::string& plural, const std::string& name) {
    ASSERT_TRUE(api_.remove(plural, name));
  }
  /// `mqbridge run --kube` against the stand-in API server.
  BridgeRunnerOptions kubeBridge() const {
    BridgeRunnerOptions bo;
    bo.configArgs = {"--kube", "--kube-namespace-file", ns_};
    for (const auto& a : api_.clientArgs()) {
      bo.configArgs.push_back(a);
    }
    return bo;
  }
  /// The stand-in's /stats as it writes it (JSON with ": " separators).
  std::string stats() { return api_.control("/stats").body; }
  bool connectedBoth(const std::string& id) {
    return local_.clientIdsConnected().count(id) != 0 &&
           remote_.clientIdsConnected().count(id) != 0;
  }
  bool goneBoth(const std::string& id) {
    return local_.clientIdsConnected().count(id) == 0 &&
           remote_.clientIdsConnected().count(id) == 0;
  }

  TestPki pki_;
  MosquittoBroker local_;
  MosquittoBroker remote_;
  TempDir dir_{"mqb-kube"};
  std::string ns_;
  FakeKubeApi api_{pki_, dir_, kToken};
};

int countOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

int countIn(const std::vector<ReceivedMessage>& msgs, const std::string& topicPrefix) {
  int n = 0;
  for (const auto& m : msgs) {
    n += m.topic.rfind(topicPrefix, 0) == 0 ? 1 : 0;
  }
  return n;
}

TEST_F(KubeWatchTest, TopicMapApplyChangeDeleteDrivesRoutesWithoutLoss) {
  apply(connectorJson(local_, remote_));
  apply(topicMapJson("base", route("steady", "a/#")));

  BridgeRunner bridge(kubeBridge());
  const int metricsPort = bridge.metricsPort();
  ASSERT_TRUE(bridge.spawn());
  ASSERT_TRUE(waitFor([&] { return connectedBoth("kw-steady"); }, 30s)) << bridge.log();

  TestClientOptions ro;
  ro.uri = remote_.uri();
  ro.clientId = "rx";
  TestClient rx(ro);
  ASSERT_TRUE(rx.connect());
  for (const char* f : {"a/#", "b/#", "c/#", "d/#"}) {
    ASSERT_TRUE(rx.subscribe(f, 1));
  }
  TestClientOptions lo;
  lo.uri = local_.uri();
  lo.clientId = "tx";
  TestClient tx(lo);
  ASSERT_TRUE(tx.connect());

  // The untouched route carries a steady stream through every change below.
  std::atomic<bool> stopSteady{false};
  std::atomic<int> steadySent{0};
  std::atomic<bool> steadyOk{true};
  TestClientOptions so = lo;
  so.clientId = "tx-steady";
  TestClient steadyTx(so);
  ASSERT_TRUE(steadyTx.connect());
  std::thread steady([&] {
    while (!stopSteady) {
      std::string payload = std::to_string(steadySent.load());
      payload.insert(0, 1, 's');  // not "s" + ...: GCC 12 -Wrestrict false positive
      if (!steadyTx.publish("a/steady", payload, 1)) {
        steadyOk = false;
        return;
      }
      ++steadySent;
      std::this_thread::sleep_for(2ms);  // a paced stream, not a wait for a condition
    }
  });

  // Whatever ends the test, the paced publisher stops and is joined (a joinable std::thread
  // destroyed by an early ASSERT return would terminate the process).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) {
        t.join();
      }
    }
  } joiner{stopSteady, steady};

  // 1. Apply a second topic map: its route starts (connected, then subscribed: /readyz 200).
  const auto t1 = std::chrono::steady_clock::now();
  apply(topicMapJson("extra", route("extra1", "b/#")));
  ASSERT_TRUE(waitFor([&] { return connectedBoth("kw-extra1"); }, 30s)) << bridge.log();
  ASSERT_EQ(waitForStatus(static_cast<std::uint16_t>(metricsPort), "/readyz", 200, 30s).status, 200)
      << bridge.log();
  const auto startMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t1)
          .count();
  ASSERT_TRUE(tx.publishMany("b/x", 100, "B"));
  ASSERT_TRUE(waitFor([&] { return countIn(rx.received(), "b/") == 100; }, 20s))
      << countIn(rx.received(), "b/");

  // 2. Change it (new source filter): the route is rebuilt and follows the change.
  apply(topicMapJson("extra", route("extra1", "c/#")));
  ASSERT_TRUE(waitFor(
      [&] {
        tx.publish("c/probe", "P", 1);
        return countIn(rx.received(), "c/probe") > 0;
      },
      30s, 200ms))
      << bridge.log();
  // The old filter is gone with the old subscription.
  ASSERT_TRUE(tx.publish("b/after", "old", 1));
  ASSERT_TRUE(tx.publish("c/marker", "M", 1));
  ASSERT_TRUE(waitFor([&] { return countIn(rx.received(), "c/marker") == 1; }, 20s));
  EXPECT_EQ(countIn(rx.received(), "b/after"), 0) << "route still forwards its old source";

  // 3. An invalid topic map is reported and changes nothing.
  apply(topicMapJson("bad", route("broken", "d/#", 5)));
  ASSERT_TRUE(waitFor([&] { return stats().find("\"name\": \"bad\"") != std::string::npos; }, 20s))
      << stats() << bridge.log();
  EXPECT_NE(bridge.log().find("kube_resource_invalid"), std::string::npos);
  EXPECT_TRUE(connectedBoth("kw-steady"));
  EXPECT_TRUE(connectedBoth("kw-extra1"));
  EXPECT_EQ(local_.clientIdsSeen().count("kw-broken"), 0u);

  // 4. Compaction: the watches end, resume from a too-old resourceVersion, get 410, relist.
  ASSERT_EQ(api_.control("/compact").status, 200);
  ASSERT_TRUE(waitFor(
      [&] {
        const std::string log = bridge.log();
        std::size_t n = 0;
        for (auto p = log.find("code=410"); p != std::string::npos;
             p = log.find("code=410", p + 1)) {
          ++n;
        }
        return n >= 2;  // both kinds
      },
      20s))
      << bridge.log();
  // After the relist, changes are seen again.
  apply(topicMapJson("late", route("late1", "d/#")));
  ASSERT_TRUE(waitFor([&] { return connectedBoth("kw-late1"); }, 30s)) << bridge.log();

  // 5. Delete the changed topic map: its route stops.
  const auto t5 = std::chrono::steady_clock::now();
  remove("mqttbridgetopicmaps", "extra");
  ASSERT_TRUE(waitFor([&] { return goneBoth("kw-extra1"); }, 30s)) << bridge.log();
  const auto stopMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t5)
          .count();
  EXPECT_TRUE(connectedBoth("kw-steady"));

  stopSteady = true;
  if (steady.joinable()) {
    steady.join();
  }
  ASSERT_TRUE(steadyOk);
  const int sent = steadySent.load();
  ASSERT_TRUE(waitFor([&] { return countIn(rx.received(), "a/steady") >= sent; }, 30s))
      << countIn(rx.received(), "a/steady") << " of " << sent;
  std::map<std::string, int> seen;
  for (const auto& m : rx.received()) {
    if (m.topic == "a/steady") {
      ++seen[m.payload];
    }
  }
  int missing = 0, dups = 0;
  for (int i = 0; i < sent; ++i) {
    const auto it = seen.find("s" + std::to_string(i));
    if (it == seen.end()) {
      ++missing;
    } else {
      dups += it->second - 1;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(dups, 0);
  EXPECT_EQ(static_cast<int>(seen.size()), sent);
  // The untouched route's clients connected exactly once (never rebuilt).
  const std::string llog = local_.logText();
  std::size_t connects = 0;
  for (auto p = llog.find(" as kw-steady "); p != std::string::npos;
       p = llog.find(" as kw-steady ", p + 1)) {
    ++connects;
  }
  EXPECT_EQ(connects, 1u) << "the untouched route was restarted";

  std::cout << "[ kube ] steady route: " << sent << " QoS 1 messages through apply/change/"
            << "invalid/410-relist/delete: " << missing << " lost, " << dups
            << " duplicated; route start " << startMs << " ms after apply, stop " << stopMs
            << " ms after delete\n"
            << "[ kube ] stand-in: " << countOf(stats(), "InvalidConfiguration")
            << " Event(s) for the invalid topic map; lists/watches: "
            << stats().substr(0, stats().find(", \"events\"")) << "}\n";

  bridge.signal(SIGTERM);
  const auto rc = bridge.wait(20s);
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << bridge.log();
}

TEST_F(KubeWatchTest, ConnectorStagePluginsAreLoadedForTheRoutesOfItsTopicMaps) {
  // The connector names a stage plugin; a topic map's route uses the plugin's stage type, which
  // validates and builds only once the plugin is loaded.
  std::string connector = connectorJson(local_, remote_);
  const std::string plugin = std::string(MQB_BINARY_DIR) + "/test_plugins/good_plugin.so";
  connector.insert(connector.size() - 2, R"(,"stagePlugins":[")" + plugin + R"("])");
  apply(connector);
  apply(topicMapJson("tagged", R"({"name":"tagged","direction":"local-to-remote",)"
                               R"("qos":1,"source":"t/#","stages":[)"
                               R"({"type":"test_tag","value":"from-plugin"}]})"));
  BridgeRunner bridge(kubeBridge());
  ASSERT_TRUE(bridge.spawn());
  ASSERT_TRUE(waitFor([&] { return connectedBoth("kw-tagged"); }, 30s)) << bridge.log();
  ASSERT_EQ(
      waitForStatus(static_cast<std::uint16_t>(bridge.metricsPort()), "/readyz", 200, 30s).status,
      200)
      << bridge.log();

  TestClientOptions ro;
  ro.uri = remote_.uri();
  ro.clientId = "rx";
  TestClient rx(ro);
  ASSERT_TRUE(rx.connect());
  ASSERT_TRUE(rx.subscribe("t/#", 1));
  TestClientOptions lo;
  lo.uri = local_.uri();
  lo.clientId = "tx";
  TestClient tx(lo);
  ASSERT_TRUE(tx.connect());
  ASSERT_TRUE(tx.publish("t/1", "x", 1));
  ASSERT_TRUE(waitFor([&] { return !rx.received().empty(); }, 20s)) << bridge.log();
  const std::vector<ReceivedMessage> got = rx.received();  // a copy: received() returns one
  std::string tags;
  for (const auto& p : got[0].props.user) {
    tags.append(tags.empty() ? "" : ",").append(p.key).append("=").append(p.value);
  }
  EXPECT_NE(tags.find("tag=from-plugin"), std::string::npos) << tags;
  EXPECT_EQ(countOf(stats(), "InvalidConfiguration"), 0) << stats();
}

}  // namespace
}  // namespace mqb::test

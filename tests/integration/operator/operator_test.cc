// `mqbridge operator` against the stand-in API server (tests/support/fake_kube_api.py: list and
// watch with resourceVersion, create/patch with 409 conflicts, the status subresource, owner
// reference garbage collection). What a real cluster adds (the StatefulSet controller, the
// kubelet, PVCs, admission) is played by the test: a "fake kubelet" starts one real `mqbridge
// run` process per replica of the StatefulSet the operator wrote, with the arguments of its pod
// template, and reports readiness in the StatefulSet's status as the controller would.
//
// Proves: apply → StatefulSet and Services created as desired.h describes, owned by the
// connector; status (observedGeneration, "1/1", conditions); a hand-edited StatefulSet is put
// back; an invalid topic map gets a status with the validator's message and an Event; a pod in
// ImagePullBackOff makes the connector InstanceFailing; an operator restart writes nothing;
// deleting the connector removes what it owns; scaling bridgeInstances 1 → 3 → 2 loses no QoS 1
// message published throughout, counted end to end; a remote broker that goes away under a real
// bridge pod makes the connector RemoteUnreachable (through the pod's own condition) and clears.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include <yaml-cpp/yaml.h>

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
using Json = nlohmann::json;

const std::string kToken = "operator-token-51c2";
const std::string kNs = "bridge-ns";

Json connectorJson(int instances, const std::string& local, const std::string& remote) {
  Json c = Json::parse(R"({"apiVersion":"mq.iotoperations.azure.com/v1beta1",
    "kind":"MqttBridgeConnector","metadata":{"name":"kc","namespace":"bridge-ns"},
    "spec":{"image":{"repository":"example.io/mqbridge","tag":"1.2.3","pullPolicy":"Always"},
      "protocol":"v5","clientIdPrefix":"op-","logLevel":"debug",
      "remoteBrokerConnection":{"endpoint":"","tls":{"tlsEnabled":false},
                                "authentication":{"anonymous":{}}},
      "localBrokerConnection":{"endpoint":"","tls":{"tlsEnabled":false},
                               "authentication":{"anonymous":{}}}}})");
  c["spec"]["bridgeInstances"] = instances;
  c["spec"]["remoteBrokerConnection"]["endpoint"] = remote;
  c["spec"]["localBrokerConnection"]["endpoint"] = local;
  return c;
}

Json topicMapJson(const std::string& name, const Json& routes) {
  return {{"apiVersion", "mq.iotoperations.azure.com/v1beta1"},
          {"kind", "MqttBridgeTopicMap"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", {{"mqttBridgeConnectorRef", "kc"}, {"routes", routes}}}};
}

Json route(const std::string& name, const std::string& source, int qos = 1) {
  return {{"name", name}, {"direction", "local-to-remote"}, {"qos", qos}, {"source", source}};
}

/// A StatefulSet controller and kubelet in one: keeps one `mqbridge run` process per replica
/// (the pod's arguments, with loopback ports and a state directory per ordinal), stops the
/// highest ordinals with SIGTERM on scale-down, and writes readyReplicas (= /readyz 200).
class FakeKubelet {
 public:
  /// What the kubelet does through the stand-in API server.
  struct Api {
    std::function<Json()> getSts;
    std::function<bool(const Json&)> patchStsStatus;
    std::function<void(const Json&)> applyPod;  ///< creates the Pod object, status Running
    std::function<void(const std::string&)> deletePod;
  };

  FakeKubelet(Api api, std::vector<std::string> kubeArgs, TempDir& dir)
      : api_(std::move(api)), kubeArgs_(std::move(kubeArgs)), dir_(dir) {}

  ~FakeKubelet() {
    for (auto& [i, p] : pods_) {
      p.process->signal(SIGKILL);
      p.process->wait(5s);
    }
  }

  /// One reconcile of the pods against the StatefulSet; true when every pod runs and is ready.
  bool sync() {
    const Json sts = api_.getSts();
    if (sts.is_null()) {
      return false;
    }
    const int replicas = sts["spec"].value("replicas", 0);
    for (int i = 0; i < replicas; ++i) {
      if (pods_.count(i) == 0) {
        startPod(sts, i);
      }
    }
    for (auto it = pods_.begin(); it != pods_.end();) {
      if (it->first >= replicas) {
        it->second.process->signal(SIGTERM);  // the pod's deletion: SIGTERM, grace period
        exitCodes_.push_back(it->second.process->wait(30s).value_or(-1));
        api_.deletePod(podName(sts, it->first));
        it = pods_.erase(it);
      } else {
        ++it;
      }
    }
    int ready = 0;
    for (auto& [i, p] : pods_) {
      ready += httpGet(static_cast<std::uint16_t>(p.metricsPort), "/readyz", 1s).status == 200;
    }
    const Json status = {{"replicas", replicas},
                         {"readyReplicas", ready},
                         {"updatedReplicas", replicas},
                         {"observedGeneration", sts["metadata"].value("generation", 1)}};
    if (sts.value("status", Json()) != status) {
      api_.patchStsStatus({{"status", status}});
    }
    return ready == replicas;
  }

  std::string logs() const {
    std::string all;
    for (const auto& [i, p] : pods_) {
      all.append("--- pod ").append(std::to_string(i)).append("\n").append(p.process->logText());
    }
    return all;
  }
  const std::vector<int>& exitCodes() const { return exitCodes_; }
  std::size_t pods() const { return pods_.size(); }

 private:
  struct Pod {
    std::unique_ptr<ChildProcess> process;
    int metricsPort = 0;
  };

  static std::string podName(const Json& sts, int i) {
    return sts["metadata"].value("name", "").append("-").append(std::to_string(i));
  }

  void startPod(const Json& sts, int i) {
    const std::string name = podName(sts, i);
    api_.applyPod({{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata",
                    {{"name", name},
                     {"namespace", kNs},
                     {"labels", sts["spec"]["template"]["metadata"]["labels"]}}},
                   {"status", {{"phase", "Running"}}}});
    Pod p;
    p.metricsPort = freePort();
    std::vector<std::string> args = {"run"};
    for (const auto& a : sts["spec"]["template"]["spec"]["containers"][0]["args"]) {
      const std::string s = a.get<std::string>();
      // Paths and ports of the pod's filesystem and network become the test's.
      if (s.rfind("--metrics-address=", 0) != 0 && s.rfind("--state-dir=", 0) != 0 &&
          s.rfind("--secrets-dir=", 0) != 0 && s.rfind("--configmaps-dir=", 0) != 0 &&
          s.rfind("--sa-token-file=", 0) != 0) {
        args.push_back(s);
      }
    }
    for (const auto& a : kubeArgs_) {
      args.push_back(a);
    }
    for (const std::string& a :
         {std::string("--metrics-address=127.0.0.1:").append(std::to_string(p.metricsPort)),
          std::string("--state-dir=")
              .append(dir_.file(std::string("spool-").append(std::to_string(i)))),
          std::string("--instance-index=").append(std::to_string(i))}) {
      args.push_back(a);
    }
    p.process = std::make_unique<ChildProcess>(
        mqbridgeBinary(), args,
        dir_.file(std::string("pod-")
                      .append(std::to_string(i))
                      .append("-")
                      .append(std::to_string(++starts_))
                      .append(".log")),
        std::vector<std::string>{"MQBRIDGE_NAMESPACE=" + kNs, "MQBRIDGE_POD_NAME=" + name});
    EXPECT_TRUE(p.process->start());
    pods_.emplace(i, std::move(p));
  }

  Api api_;
  std::vector<std::string> kubeArgs_;
  TempDir& dir_;
  std::map<int, Pod> pods_;
  std::vector<int> exitCodes_;
  int starts_ = 0;
};

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.start()) << api_.log(); }

  std::unique_ptr<ChildProcess> startOperator(const std::string& logName) {
    std::vector<std::string> args = {"operator", "--namespace", kNs,    "--drain-seconds",
                                     "5",        "--log-level", "debug"};
    for (const auto& a : api_.clientArgs()) {
      args.push_back(a);
    }
    auto op = std::make_unique<ChildProcess>(mqbridgeBinary(), args, dir_.file(logName));
    EXPECT_TRUE(op->start());
    return op;
  }

  void apply(const Json& object) { ASSERT_TRUE(api_.apply(object)) << object.dump(); }

  /// The fake kubelet's view of the stand-in API server: connector "kc"'s StatefulSet and pods.
  FakeKubelet::Api kubeletApi() {
    return {[this] { return api_.get("statefulsets", "kc"); },
            [this](const Json& status) { return api_.patch("statefulsets", "kc", status, true); },
            [this](const Json& pod) { apply(pod); },
            [this](const std::string& name) { EXPECT_TRUE(api_.remove("pods", name)); }};
  }

  TestPki pki_;
  TempDir dir_{"mqb-operator"};
  FakeKubeApi api_{pki_, dir_, kToken};
};

int countOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

/// "METHOD plural[/sub]" (as the stand-in counts writes) is allowed by a rule of the Role in
/// `rbacFile` (deploy/operator/: the operator's, or the bridge pods').
bool roleAllows(const std::string& what, const std::string& rbacFile = MQB_SOURCE_DIR
                                         "/deploy/operator/operator-rbac.yaml") {
  static const std::map<std::string, std::string> verbs = {
      {"POST", "create"}, {"PATCH", "patch"}, {"PUT", "update"}, {"DELETE", "delete"}};
  const std::string method = what.substr(0, what.find(' '));
  const std::string resource = what.substr(what.find(' ') + 1);
  for (const auto& doc : YAML::LoadAllFromFile(rbacFile)) {
    if (doc["kind"].as<std::string>() != "Role") {
      continue;
    }
    for (const auto& rule : doc["rules"]) {
      bool resourceOk = false, verbOk = false;
      for (const auto& r : rule["resources"]) {
        resourceOk = resourceOk || r.as<std::string>() == resource;
      }
      for (const auto& v : rule["verbs"]) {
        verbOk = verbOk || (verbs.count(method) != 0 && v.as<std::string>() == verbs.at(method));
      }
      if (resourceOk && verbOk) {
        return true;
      }
    }
  }
  return false;
}

std::string condition(const Json& o, const std::string& type, const std::string& field) {
  if (!o.is_object() || !o.contains("status")) {
    return "";
  }
  for (const auto& c : o.value("/status/conditions"_json_pointer, Json::array())) {
    if (c.value("type", "") == type) {
      return c.value(field, "");
    }
  }
  return "";
}

bool hasArg(const Json& sts, const std::string& arg) {
  for (const auto& a : sts["spec"]["template"]["spec"]["containers"][0]["args"]) {
    if (a == arg) {
      return true;
    }
  }
  return false;
}

TEST_F(OperatorTest, ApplyDriftInvalidTopicMapRestartDelete) {
  apply(connectorJson(2, "127.0.0.1:1", "127.0.0.1:2"));
  apply(topicMapJson("tm", Json::array({route("r1", "a/#")})));
  auto op = startOperator("operator-1.log");

  // 1. Apply: the StatefulSet and both Services appear, owned by the connector.
  ASSERT_TRUE(waitFor([&] { return !api_.get("services", "kc-metrics").is_null(); }, 20s))
      << op->logText();
  const Json connector = api_.get("mqttbridgeconnectors", "kc");
  const Json sts = api_.get("statefulsets", "kc");
  ASSERT_FALSE(sts.is_null());
  ASSERT_FALSE(api_.get("services", "kc").is_null());
  EXPECT_EQ(sts["spec"]["replicas"], 2);
  const Json& c = sts["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"], "example.io/mqbridge:1.2.3");
  EXPECT_EQ(c["imagePullPolicy"], "Always");
  EXPECT_TRUE(hasArg(sts, "--kube"));
  EXPECT_TRUE(hasArg(sts, "--kube-connector=kc"));
  EXPECT_TRUE(hasArg(sts, "--log-level=debug"));
  EXPECT_EQ(sts["metadata"]["ownerReferences"][0]["uid"], connector["metadata"]["uid"]);
  EXPECT_EQ(api_.get("services", "kc")["spec"]["clusterIP"], "None");

  // Status: observedGeneration, 0/2 ready, Progressing; the topic map is accepted.
  ASSERT_TRUE(
      waitFor([&] { return api_.get("mqttbridgeconnectors", "kc").contains("status"); }, 20s));
  Json st = api_.get("mqttbridgeconnectors", "kc")["status"];
  EXPECT_EQ(st["observedGeneration"], 1);
  EXPECT_EQ(st["ready"], "0/2");
  EXPECT_EQ(st["routes"], 1);
  EXPECT_EQ(condition(api_.get("mqttbridgeconnectors", "kc"), "Ready", "status"), "False");
  ASSERT_TRUE(
      waitFor([&] { return api_.get("mqttbridgetopicmaps", "tm").contains("status"); }, 20s));
  EXPECT_EQ(api_.get("mqttbridgetopicmaps", "tm")["status"]["accepted"], true);

  // The StatefulSet controller reports 2 ready: Ready True, "2/2".
  ASSERT_TRUE(api_.patch("statefulsets", "kc",
                         {{"status",
                           {{"replicas", 2},
                            {"readyReplicas", 2},
                            {"updatedReplicas", 2},
                            {"observedGeneration", 1}}}},
                         true));
  ASSERT_TRUE(waitFor(
      [&] {
        return condition(api_.get("mqttbridgeconnectors", "kc"), "Ready", "status") == "True";
      },
      20s))
      << op->logText();
  EXPECT_EQ(api_.get("mqttbridgeconnectors", "kc")["status"]["ready"], "2/2");

  // 2. Drift: a hand edit of replicas and image is put back.
  ASSERT_TRUE(api_.patch("statefulsets", "kc", {{"spec", {{"replicas", 7}}}}));
  ASSERT_TRUE(waitFor([&] { return api_.get("statefulsets", "kc")["spec"]["replicas"] == 2; }, 20s))
      << op->logText();

  // 3. An invalid topic map: its status carries the validator's message; the connector is
  // Degraded; a Warning Event names it.
  apply(topicMapJson("bad", Json::array({route("broken", "d/#", 7)})));
  ASSERT_TRUE(waitFor(
      [&] {
        const Json t = api_.get("mqttbridgetopicmaps", "bad");
        return t.is_object() && t.value("/status/accepted"_json_pointer, true) == false;
      },
      20s))
      << op->logText();
  const Json bad = api_.get("mqttbridgetopicmaps", "bad")["status"];
  ASSERT_FALSE(bad["messages"].empty());
  EXPECT_NE(bad["messages"][0].get<std::string>().find("spec.routes[0].qos"), std::string::npos)
      << bad.dump();
  ASSERT_TRUE(waitFor(
      [&] {
        return condition(api_.get("mqttbridgeconnectors", "kc"), "Degraded", "reason") ==
               "InvalidTopicMap";
      },
      20s));
  ASSERT_TRUE(waitFor(
      [&] { return api_.stats().dump().find("\"InvalidTopicMap\"") != std::string::npos; }, 20s));

  // An image that cannot be pulled, as the kubelet reports it in a pod's status: Degraded says
  // InstanceFailing (it comes before a topic map problem: nothing runs) with the kubelet's words.
  Json pulling = Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "kc-1", "namespace": "bridge-ns"},
    "status": {"phase": "Pending", "containerStatuses": [{"name": "mqbridge", "state": {"waiting":
      {"reason": "ImagePullBackOff",
       "message": "Back-off pulling image example.io/mqbridge:1.2.3"}}}]}})");
  pulling["metadata"]["labels"] = sts["spec"]["template"]["metadata"]["labels"];
  apply(pulling);
  ASSERT_TRUE(waitFor(
      [&] {
        return condition(api_.get("mqttbridgeconnectors", "kc"), "Degraded", "reason") ==
               "InstanceFailing";
      },
      20s))
      << op->logText();
  EXPECT_EQ(condition(api_.get("mqttbridgeconnectors", "kc"), "Degraded", "message"),
            "kc-1: ImagePullBackOff: Back-off pulling image example.io/mqbridge:1.2.3");

  // Every kind of write the operator sent is allowed by its Role in deploy/operator.
  const Json writesBy = api_.stats()["writes_by"];
  ASSERT_FALSE(writesBy.empty());
  for (const auto& [what, n] : writesBy.items()) {
    EXPECT_TRUE(roleAllows(what)) << what << " (" << n << "x) is not in operator-rbac.yaml";
  }

  // 4. Restart: the new operator lists, compares, and writes nothing.
  op->signal(SIGTERM);
  ASSERT_TRUE(op->wait(10s).has_value());
  ASSERT_EQ(api_.control("/reset-writes").status, 200);
  op = startOperator("operator-2.log");
  ASSERT_TRUE(
      waitFor([&] { return op->logText().find("operator_synced") != std::string::npos; }, 20s))
      << op->logText();
  // A later event-driven pass (a change that needs no write) must not write either.
  const int passes = countOf(op->logText(), "operator_pass");
  ASSERT_TRUE(api_.patch("statefulsets", "kc", {{"metadata", {{"annotations", {{"x", "y"}}}}}}));
  ASSERT_TRUE(waitFor([&] { return countOf(op->logText(), "operator_pass") > passes; }, 20s))
      << op->logText();
  const Json restartWrites = api_.stats()["writes"];
  EXPECT_EQ(restartWrites, 0) << api_.stats()["writes_by"].dump() << op->logText();

  // 5. Delete the connector: what it owns is garbage-collected.
  ASSERT_TRUE(api_.remove("mqttbridgeconnectors", "kc"));
  // (Garbage collection is asynchronous in a cluster: an operator pass that has not seen the
  // deletion yet may create an object for the gone owner, which the collector removes.)
  EXPECT_TRUE(waitFor(
      [&] {
        return api_.get("statefulsets", "kc").is_null() && api_.get("services", "kc").is_null() &&
               api_.get("services", "kc-metrics").is_null();
      },
      20s))
      << api_.control("/list?plural=services").body;
  std::cout << "[ operator ] API writes of the restarted operator before the delete: "
            << restartWrites << "\n";
}

TEST_F(OperatorTest, ScaleOneThreeTwoLosesNothing) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start()) << local.logText();
  ASSERT_TRUE(remote.start()) << remote.logText();
  apply(connectorJson(1, local.endpoint(), remote.endpoint()));
  apply(topicMapJson("tm",
                     Json::array({route("ra", "a/#"), route("rb", "b/#"), route("rc", "c/#")})));
  auto op = startOperator("operator.log");

  std::vector<std::string> podArgs = api_.clientArgs();
  podArgs.insert(podArgs.end(), {"--kube-namespace", kNs});
  FakeKubelet kubelet(kubeletApi(), podArgs, dir_);
  std::atomic<bool> stop{false};
  std::mutex kubeletMu;
  std::thread kubeletThread([&] {
    while (!stop) {
      {
        std::lock_guard<std::mutex> lock(kubeletMu);
        kubelet.sync();
      }
      std::this_thread::sleep_for(100ms);  // the kubelet's resync period, not a wait
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) {
        t.join();
      }
    }
  } joinKubelet{stop, kubeletThread};

  auto readyIs = [&](const std::string& want) {
    const Json c = api_.get("mqttbridgeconnectors", "kc");
    return c.is_object() && c.value("/status/ready"_json_pointer, "") == want &&
           condition(c, "Ready", "status") == "True" &&
           condition(c, "Progressing", "status") == "False";
  };
  ASSERT_TRUE(waitFor([&] { return readyIs("1/1"); }, 30s)) << op->logText() << kubelet.logs();

  TestClientOptions ro;
  ro.uri = remote.uri();
  ro.clientId = "rx";
  TestClient rx(ro);
  ASSERT_TRUE(rx.connect());
  for (const char* f : {"a/#", "b/#", "c/#"}) {
    ASSERT_TRUE(rx.subscribe(f, 1));
  }
  TestClientOptions lo;
  lo.uri = local.uri();
  lo.clientId = "tx";
  TestClient tx(lo);
  ASSERT_TRUE(tx.connect());
  std::atomic<bool> stopTx{false};
  std::atomic<int> sent{0};
  std::thread publisher([&] {
    const char* topics[] = {"a/x", "b/x", "c/x"};
    while (!stopTx) {
      const int n = sent.load();
      std::string payload = std::to_string(n);
      payload.insert(0, 1, 'm');  // not "m" + ...: GCC 12 -Wrestrict false positive
      if (!tx.publish(topics[n % 3], payload, 1)) {
        return;
      }
      ++sent;
      std::this_thread::sleep_for(3ms);  // a paced stream, not a wait for a condition
    }
  });
  Joiner joinPublisher{stopTx, publisher};

  // 1 → 3: two more pods; the routes spread over three instances.
  apply(connectorJson(3, local.endpoint(), remote.endpoint()));
  ASSERT_TRUE(waitFor([&] { return readyIs("3/3"); }, 30s)) << op->logText() << kubelet.logs();
  const int atThree = sent.load();
  // 3 → 2: instance 2 gets SIGTERM and drains; its routes move to the two left.
  apply(connectorJson(2, local.endpoint(), remote.endpoint()));
  ASSERT_TRUE(waitFor([&] { return readyIs("2/2"); }, 30s)) << op->logText() << kubelet.logs();
  ASSERT_TRUE(waitFor([&] { return sent.load() > atThree + 100; }, 10s));
  stopTx = true;
  publisher.join();
  const int total = sent.load();
  EXPECT_TRUE(waitFor([&] { return static_cast<int>(rx.received().size()) >= total; }, 30s))
      << rx.received().size() << " of " << total;
  std::map<std::string, int> seen;
  for (const auto& m : rx.received()) {
    ++seen[m.payload];
  }
  int missing = 0, dups = 0;
  for (int i = 0; i < total; ++i) {
    std::string payload = std::to_string(i);
    payload.insert(0, 1, 'm');
    const auto it = seen.find(payload);
    if (it == seen.end()) {
      ++missing;
      std::cout << "[ operator ] missing " << payload << " ("
                << "abc"[i % 3] << "/x)\n";
    }
    dups += it == seen.end() ? 0 : it->second - 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(api_.get("statefulsets", "kc")["spec"]["replicas"], 2);
  {
    std::lock_guard<std::mutex> lock(kubeletMu);
    EXPECT_EQ(kubelet.pods(), 2u);
    ASSERT_EQ(kubelet.exitCodes().size(), 1u);
    EXPECT_EQ(kubelet.exitCodes()[0], 0) << "the leaving instance did not drain and exit cleanly";
  }
  std::cout << "[ operator ] 1 -> 3 -> 2 instances: " << total << " QoS 1 messages, " << missing
            << " lost, " << dups << " duplicated\n";
}

TEST_F(OperatorTest, RemoteUnreachableIsTheReasonAndClearsWhenItComesBack) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start()) << local.logText();
  ASSERT_TRUE(remote.start()) << remote.logText();
  apply(connectorJson(1, local.endpoint(), remote.endpoint()));
  apply(topicMapJson("tm", Json::array({route("ra", "a/#")})));
  auto op = startOperator("operator.log");
  std::vector<std::string> podArgs = api_.clientArgs();
  podArgs.insert(podArgs.end(), {"--kube-namespace", kNs});
  FakeKubelet kubelet(kubeletApi(), podArgs, dir_);
  auto connectorIs = [&](const std::string& type, const std::string& status,
                         const std::string& reason) {
    kubelet.sync();
    const Json c = api_.get("mqttbridgeconnectors", "kc");
    return condition(c, type, "status") == status && condition(c, type, "reason") == reason;
  };
  auto podCondition = [&](const std::string& field) {
    return condition(api_.get("pods", "kc-0"), "mqbridge.io/RemoteBrokerConnected", field);
  };

  // Both brokers up: the pod says it reaches them, the connector is Ready.
  ASSERT_TRUE(waitFor([&] { return connectorIs("Ready", "True", "InstancesReady"); }, 30s))
      << op->logText() << kubelet.logs();
  ASSERT_TRUE(waitFor(
      [&] {
        return podCondition("status") == "True" &&
               condition(api_.get("pods", "kc-0"), "mqbridge.io/LocalBrokerConnected", "status") ==
                   "True";
      },
      20s))
      << kubelet.logs();

  // The remote broker goes away: the pod's condition turns False with the cause, and the
  // connector says RemoteUnreachable (Degraded and Ready), naming the pod and the endpoint.
  const auto stopped = std::chrono::steady_clock::now();
  remote.stop();
  ASSERT_TRUE(waitFor([&] { return connectorIs("Degraded", "True", "RemoteUnreachable"); }, 30s))
      << op->logText() << kubelet.logs();
  const auto reported = std::chrono::steady_clock::now() - stopped;
  EXPECT_EQ(podCondition("status"), "False");
  EXPECT_EQ(podCondition("reason"), "Unreachable");
  const Json c = api_.get("mqttbridgeconnectors", "kc");
  const std::string message = condition(c, "Degraded", "message");
  EXPECT_NE(message.find("kc-0: connector kc: 0 of "), std::string::npos) << message;
  EXPECT_NE(message.find(remote.endpoint()), std::string::npos) << message;
  EXPECT_NE(message.find("last failure: "), std::string::npos) << message;
  ASSERT_TRUE(waitFor([&] { return connectorIs("Ready", "False", "RemoteUnreachable"); }, 20s))
      << api_.get("mqttbridgeconnectors", "kc").dump();
  // The kubelet's own conditions were merged with, not replaced: the pod is still Running and
  // the local side still connected.
  EXPECT_EQ(api_.get("pods", "kc-0")["status"]["phase"], "Running");
  EXPECT_EQ(condition(api_.get("pods", "kc-0"), "mqbridge.io/LocalBrokerConnected", "status"),
            "True");
  ASSERT_TRUE(waitFor(
      [&] { return api_.stats()["events"].dump().find("RemoteUnreachable") != std::string::npos; },
      20s));

  // Back on the same port: the condition and the connector recover.
  // (The pod turns ready on its probe; its condition follows within the bridge's 2 s look.)
  ASSERT_TRUE(remote.start()) << remote.logText();
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor(
      [&] {
        return connectorIs("Ready", "True", "InstancesReady") &&
               connectorIs("Degraded", "False", "AsExpected");
      },
      30s))
      << op->logText() << kubelet.logs();
  const auto recovered = std::chrono::steady_clock::now() - restarted;
  EXPECT_EQ(podCondition("status"), "True");

  // The operator's status writes (several above) change no spec: the bridge did not reload.
  EXPECT_EQ(countOf(kubelet.logs(), "event=reloading"), 0) << kubelet.logs();

  // The bridge's writes are allowed by the bridge pods' Role.
  for (const auto& [what, n] : api_.stats()["writes_by"].items()) {
    if (what.find("pods") != std::string::npos) {
      EXPECT_TRUE(roleAllows(what, MQB_SOURCE_DIR "/deploy/operator/bridge-rbac.yaml"))
          << what << " (" << n << "x) is not in bridge-rbac.yaml";
    }
  }
  using ms = std::chrono::milliseconds;
  std::cout << "[ operator ] remote stopped -> RemoteUnreachable in "
            << std::chrono::duration_cast<ms>(reported).count()
            << " ms; restarted -> Ready, not Degraded in "
            << std::chrono::duration_cast<ms>(recovered).count()
            << " ms; pod condition writes (up, down, up): "
            << api_.stats()["writes_by"].value("PATCH pods/status", 0) << "\n";
}

}  // namespace
}  // namespace mqb::test

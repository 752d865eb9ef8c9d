// Scale-out on one host: the same route (local -> remote, a shared subscription of 4 clients,
// 64-byte payloads) served by 1 process (bridgeInstances: 1) or by 2 processes
// (bridgeInstances: 2, `mqbridge run --spawn-instances`). The messages are queued first in the
// bridge's persistent sessions on the local broker (the bridge stopped), then the bridge starts
// and drains them: the figure is messages/s from the first to the last message at the receiver,
// so neither the publisher nor connection set-up is in it.
//
//   mqtt_scaleout_bench [messages=40000] [qos=1] [runs=3]

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/bridge_runner.h"
#include "tests/support/child_process.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

using namespace mqb;
using namespace std::chrono_literals;

namespace {

std::string config(const test::MosquittoBroker& local, const test::MosquittoBroker& remote,
                   int instances, int qos) {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\nkind: MqttBridgeConnector\n"
         "metadata:\n  name: bench\nspec:\n"
         "  image: {repository: mqbridge, tag: t, pullPolicy: IfNotPresent}\n"
         "  protocol: v5\n  bridgeInstances: " +
         std::to_string(instances) +
         "\n  clientIdPrefix: so-\n  logLevel: warn\n"
         "  remoteBrokerConnection:\n    endpoint: " +
         remote.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n"
         "  localBrokerConnection:\n    endpoint: " +
         local.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n---\n"
         "apiVersion: mq.iotoperations.azure.com/v1beta1\nkind: MqttBridgeTopicMap\n"
         "metadata:\n  name: bench-map\nspec:\n  mqttBridgeConnectorRef: bench\n  routes:\n"
         "    - name: fan\n      direction: local-to-remote\n      qos: " +
         std::to_string(qos) +
         "\n      source: bench/#\n"
         "      sharedSubscription: {groupMinimumShareNumber: 4, groupName: g}\n";
}

std::vector<std::string> args(const std::string& cfg, int instances, const std::string& state) {
  std::vector<std::string> a{"run",
                             "-c",
                             cfg,
                             "--metrics-address",
                             "127.0.0.1:" + std::to_string(test::freePort()),
                             "--state-dir",
                             state,
                             "--drain-seconds",
                             "2"};
  if (instances > 1) {
    a.emplace_back("--spawn-instances");
  }
  return a;
}

double childCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Result {
  double rate = 0;         ///< msg/s, first to last message at the receiver
  double cpuNsPerMsg = 0;  ///< CPU of the bridge process(es), all threads, per message
};

/// One run (rate 0 on failure).
Result once(int instances, int n, int qos) {
  test::BrokerOptions bo;
  // mosquitto's default max_inflight_messages (20 per client) paces a resumed session's queue;
  // with 0 (unlimited) it sends the whole queue at once and the bridge's source overflow drops.
  bo.extraConfig = {"queue_qos0_messages true"};
  test::MosquittoBroker local(bo), remote(bo);
  if (!local.start() || !remote.start()) {
    std::fprintf(stderr, "brokers did not start\n");
    return {};
  }
  test::TempDir dir("mqb-scaleout");
  const std::string cfg = dir.write("bridge.yaml", config(local, remote, instances, qos));
  auto sessionsUp = [&] {
    int c = 0;
    for (const auto& id : local.clientIdsConnected()) {
      c += id.rfind("so-fan-", 0) == 0 ? 1 : 0;
    }
    return c;
  };
  {  // create the 4 persistent sessions, then stop: the broker queues for them from now on
    test::ChildProcess b(test::mqbridgeBinary(), args(cfg, instances, dir.file("state")),
                         dir.file("bridge.log"));
    b.start();
    if (!test::waitFor([&] { return sessionsUp() == 4; }, 60s)) {
      std::fprintf(stderr, "bridge did not connect:\n%s\n", b.logText().c_str());
      return {};
    }
    b.signal(SIGTERM);
    b.wait(30s);
  }
  test::TestClientOptions po;
  po.uri = local.uri();
  po.clientId = "writer";
  test::TestClient writer(po);
  test::TestClientOptions ro;
  ro.uri = remote.uri();
  ro.clientId = "reader";
  test::TestClient reader(ro);
  if (!writer.connect() || !reader.connect() || !reader.subscribe("bench/#", qos)) {
    return {};
  }
  writer.publishMany("bench/t", n, std::string(60, 'x'), qos, 600s);
  const double cpu0 = childCpuSeconds();
  test::ChildProcess b(test::mqbridgeBinary(), args(cfg, instances, dir.file("state")),
                       dir.file("bridge.log"));
  b.start();
  std::chrono::steady_clock::time_point first{};
  const bool ok = test::waitFor(
      [&] {
        const auto c = reader.receivedCount();
        if (c > 0 && first == std::chrono::steady_clock::time_point{}) {
          first = std::chrono::steady_clock::now();
        }
        return c >= static_cast<std::size_t>(n);
      },
      120s, 1ms);
  const auto last = std::chrono::steady_clock::now();
  b.signal(SIGTERM);
  b.wait(30s);
  const double cpu = childCpuSeconds() - cpu0;
  if (!ok) {
    std::fprintf(stderr, "only %zu of %d arrived within 120 s; bridge log:\n%s\n",
                 reader.receivedCount(), n, b.logText().substr(0, 3000).c_str());
    return {};
  }
  return {n / std::chrono::duration<double>(last - first).count(), cpu * 1e9 / n};
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 40000;
  const int qos = argc > 2 ? std::atoi(argv[2]) : 1;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf(
      "mqtt_scaleout_bench: messages=%d qos=%d payload=64B shared subscription of 4, "
      "%d runs each (median)\n",
      n, qos, runs);
  double median[3] = {0, 0, 0};
  for (int inst : {1, 2}) {
    std::vector<Result> r;
    for (int i = 0; i < runs; ++i) {
      r.push_back(once(inst, n, qos));
    }
    std::sort(r.begin(), r.end(), [](const Result& a, const Result& b) { return a.rate < b.rate; });
    median[inst] = r[r.size() / 2].rate;
    std::printf("  %d process%s: median %.0f msg/s, bridge cpu %.0f ns/msg (runs:", inst,
                inst == 1 ? "  " : "es", median[inst], r[r.size() / 2].cpuNsPerMsg);
    for (const auto& x : r) {
      std::printf(" %.0f", x.rate);
    }
    std::printf(")\n");
  }
  std::printf("  gain 2 vs 1: %.2fx\n", median[1] > 0 ? median[2] / median[1] : 0.0);
  return median[1] > 0 && median[2] > 0 ? 0 : 1;
}

// Forwarding throughput of the MQTT layer alone (MqttSource -> direct ingress -> MqttSink, no
// graph): two mosquitto brokers on loopback, an external publisher and subscriber, 64-byte
// payloads. Prints messages/s end to end and the bridge's counters.
//
//   mqtt_forward_bench [messages=20000] [qos=1] [window=100]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/runtime/client_options.h"
#include "tests/support/direct_route.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"

using namespace mqb;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int qos = argc > 2 ? std::atoi(argv[2]) : 1;
  const int window = argc > 3 ? std::atoi(argv[3]) : 100;
  test::BrokerOptions bo;
  bo.extraConfig = {"max_inflight_messages 0"};  // no Receive Maximum: the bridge window rules
  test::MosquittoBroker local(bo), remote(bo);
  if (!local.start() || !remote.start()) {
    std::fprintf(stderr, "brokers did not start\n");
    return 1;
  }
  test::DirectRouteOptions o;
  auto client = [](const config::BrokerConnection& b, const char* id, bool persistent) {
    mqtt::ClientOptions c;
    c.clientId = id;
    c.endpoint = app::endpointOf(b);
    c.persistentSession = persistent;
    return c;
  };
  o.source = client(local.connection(), "bench-sub", true);
  o.target = client(remote.connection(), "bench-pub", false);
  o.sourceOptions.filter = "bench/#";
  o.sourceOptions.qos = qos;
  o.sourceOptions.overflowCapacity = static_cast<std::size_t>(n);
  o.sinkOptions.maxInflight = window;
  o.sinkOptions.hopMarkerValue = "bench";
  o.capacity = 2000;
  test::DirectRoute route(std::move(o));
  route.start();
  if (!route.waitReady(10s)) {
    std::fprintf(stderr, "route not ready\n");
    return 1;
  }
  test::TestClientOptions so;
  so.uri = remote.uri();
  so.clientId = "bench-reader";
  test::TestClient reader(so);
  test::TestClientOptions po;
  po.uri = local.uri();
  po.clientId = "bench-writer";
  test::TestClient writer(po);
  if (!reader.connect() || !reader.subscribe("bench/#", qos) || !writer.connect()) {
    std::fprintf(stderr, "test clients failed\n");
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  writer.publishMany("bench/t", n, std::string(60, 'x'), qos, 300s);
  const auto t1 = std::chrono::steady_clock::now();
  const bool all = reader.waitForCount(static_cast<std::size_t>(n), 300s);
  const auto t2 = std::chrono::steady_clock::now();
  const double pubS = std::chrono::duration<double>(t1 - t0).count();
  const double e2eS = std::chrono::duration<double>(t2 - t0).count();
  std::printf("mqtt_forward_bench: messages=%d qos=%d window=%d payload=64B\n", n, qos, window);
  std::printf("  publisher: %.0f msg/s\n", n / pubS);
  std::printf("  end to end: %.0f msg/s (%.2f s), received %zu of %d%s\n", n / e2eS, e2eS,
              reader.receivedCount(), n, all ? "" : " (INCOMPLETE)");
  std::printf("  bridge: received=%.0f forwarded=%.0f max_outstanding=%zu\n",
              route.metrics().received(), route.metrics().forwarded(),
              route.sinks()[0]->maxOutstandingForTest());
  route.stop();
  return all ? 0 : 2;
}

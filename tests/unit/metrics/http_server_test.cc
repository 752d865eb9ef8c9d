// /metrics, /healthz and /readyz over real HTTP on 127.0.0.1:0.
#include "metrics/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/http_get.h"
#include "tests/support/prometheus_text.h"

namespace mqb::metrics {
namespace {

using std::chrono::seconds;
using test::httpGet;

HttpServerOptions loopback() {
  HttpServerOptions o;
  o.address = "127.0.0.1:0";
  return o;
}

TEST(HttpServer, ServesMetricsInTextFormat) {
  Metrics m("9.9.9", "deadbeef");
  m.bindRoute("edge", "t1", kLocalToRemote, "0").onReceived(5);
  HttpServer http(loopback(), m.registry());
  ASSERT_GT(http.port(), 0);
  const auto r = httpGet(static_cast<std::uint16_t>(http.port()), "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto text = test::parsePrometheusText(r.body);
  EXPECT_TRUE(text.errors.empty()) << ::testing::PrintToString(text.errors);
  EXPECT_EQ(text.types.at("mqbridge_messages_received_total"), "counter");
  EXPECT_EQ(text.count("mqbridge_messages_received_total"), 1u);
  EXPECT_EQ(text.sum("mqbridge_messages_received_total",
                     {"branch=\"0\"", "connector=\"edge\"", "direction=\"local_to_remote\"",
                      "route=\"t1\""}),
            1)
      << r.body.substr(0, 2000);
  EXPECT_EQ(text.sum("mqbridge_build_info", {"revision=\"deadbeef\"", "version=\"9.9.9\""}), 1);
  EXPECT_EQ(httpGet(static_cast<std::uint16_t>(http.port()), "/nope").status, 404);
  EXPECT_EQ(httpGet(static_cast<std::uint16_t>(http.port()), "/metricsx").status, 404);
}

TEST(HttpServer, HealthzFollowsTheWatchdog) {
  std::atomic<std::int64_t> nowSec{1000};
  Watchdog dog([&] { return std::chrono::steady_clock::time_point(seconds(nowSec.load())); });
  auto& loop = dog.add("main_loop", seconds(10));
  HttpServer http(loopback(), std::make_shared<prometheus::Registry>());
  const auto port = static_cast<std::uint16_t>(http.port());
  EXPECT_EQ(httpGet(port, "/healthz").status, 200);  // no check installed: alive
  http.setHealthCheck([&] { return dog.check(); });
  auto r = httpGet(port, "/healthz");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok\n");
  nowSec += 11;
  r = httpGet(port, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "heartbeat main_loop stale for 11.0s\n");
  loop.beat();
  EXPECT_EQ(httpGet(port, "/healthz").status, 200);
}

TEST(HttpServer, ReadyzFollowsClientState) {
  Metrics m("1", "r");
  HttpServer http(loopback(), m.registry());
  const auto port = static_cast<std::uint16_t>(http.port());
  auto r = httpGet(port, "/readyz");
  EXPECT_EQ(r.status, 503) << r.error;  // no readiness check yet
  EXPECT_EQ(r.body, "starting\n");
  http.setReadinessCheck([&] { return m.readiness(); });
  ClientMetrics& sub = m.bindClient("edge", "t1", kLocalToRemote, "local", "sub-0", true);
  ClientMetrics& pub = m.bindClient("edge", "t1", kLocalToRemote, "remote", "pub-0", false);
  r = httpGet(port, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("client=sub-0 not connected"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("client=pub-0 not connected"), std::string::npos) << r.body;
  sub.connected->Set(1);
  sub.subscribed->Set(1);
  pub.connected->Set(1);
  r = httpGet(port, "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  pub.connected->Set(0);  // remote broker gone
  r = httpGet(port, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "client connector=edge route=t1 direction=local_to_remote side=remote client=pub-0 "
            "not connected\n");
}

TEST(HttpServer, ThrowingCheckIsA500NotACrash) {
  HttpServer http(loopback(), std::make_shared<prometheus::Registry>());
  http.setReadinessCheck([]() -> Readiness { throw std::runtime_error("boom"); });
  const auto r = httpGet(static_cast<std::uint16_t>(http.port()), "/readyz");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "boom\n");
}

TEST(HttpServer, BusyAddressIsAClearError) {
  HttpServer first(loopback(), std::make_shared<prometheus::Registry>());
  HttpServerOptions o;
  o.address = "127.0.0.1:" + std::to_string(first.port());
  try {
    HttpServer second(o, std::make_shared<prometheus::Registry>());
    FAIL() << "second server bound a busy port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics address 127.0.0.1:"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mqb::metrics

namespace mqb::metrics {
namespace {

TEST(HttpServerConcurrency, ScrapesWhileRoutesUpdateAndBind) {
  Metrics m("1", "r");
  HttpServer http(loopback(), m.registry());
  http.setReadinessCheck([&] { return m.readiness(/*allowEmpty=*/true); });
  constexpr int kPerThread = 20000;
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  std::vector<RouteMetrics*> bound(4, nullptr);
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      // threads 0/1 and 2/3 bind the same branch concurrently
      RouteMetrics& r = m.bindRoute("c", "r", kLocalToRemote, std::to_string(t / 2));
      bound[static_cast<std::size_t>(t)] = &r;
      ClientMetrics& c =
          m.bindClient("c", "r", kLocalToRemote, "local", "sub-" + std::to_string(t), true);
      for (int i = 0; i < kPerThread; ++i) {
        r.onReceived(8);
        r.onForwarded(8, 0.001, 1.0);
        c.connected->Set(i % 2);
      }
    });
  }
  go.store(true);
  int scrapes = 0;
  for (int i = 0; i < 5; ++i) {
    const auto s = test::httpGet(static_cast<std::uint16_t>(http.port()), "/metrics");
    EXPECT_EQ(s.status, 200) << s.error;
    const auto rz = test::httpGet(static_cast<std::uint16_t>(http.port()), "/readyz");
    EXPECT_TRUE(rz.status == 200 || rz.status == 503) << rz.status << rz.error;
    ++scrapes;
  }
  for (auto& w : workers) {
    w.join();
  }
  EXPECT_EQ(scrapes, 5);
  EXPECT_EQ(bound[0], bound[1]);
  EXPECT_EQ(bound[2], bound[3]);
  EXPECT_NE(bound[0], bound[2]);
  EXPECT_EQ(bound[0]->forwarded->Value(), 2 * kPerThread);
  EXPECT_EQ(bound[2]->latency->Collect().histogram.sample_count, 2u * kPerThread);
  EXPECT_EQ(bound[0]->inflight->Value(), 0);
}

}  // namespace
}  // namespace mqb::metrics

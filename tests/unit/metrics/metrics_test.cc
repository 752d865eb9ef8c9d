#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace mqb::metrics {
namespace {

const prometheus::MetricFamily* family(const std::vector<prometheus::MetricFamily>& fams,
                                       const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

std::string label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) {
      return l.value;
    }
  }
  return "<none>";
}

/// ^mqbridge_[a-z0-9_]+$ (no std::regex: GCC 12 -Wmaybe-uninitialized false positive under ASan)
bool isSnakeCaseMqbridgeName(const std::string& name) {
  const std::string prefix = "mqbridge_";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) {
    return false;
  }
  return std::all_of(
      name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
      [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

TEST(Metrics, SameLabelsBindSameObjects) {
  Metrics m("1.2.3", "abc");
  RouteMetrics& a = m.bindRoute("edge", "t1", kLocalToRemote, "0");
  RouteMetrics& b = m.bindRoute("edge", "t1", kLocalToRemote, "0");
  RouteMetrics& c = m.bindRoute("edge", "t1", kLocalToRemote, "1");
  RouteMetrics& d = m.bindRoute("edge", "t1", kRemoteToLocal, "0");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_NE(a.received, c.received);
  EXPECT_NE(a.latency, c.latency);  // one histogram per branch (its mutex is not shared)
  EXPECT_EQ(a.spoolMessages, c.spoolMessages);  // spool is per route and direction
  EXPECT_NE(a.spoolMessages, d.spoolMessages);

  ClientMetrics& x = m.bindClient("edge", "t1", kLocalToRemote, "local", "sub-0", true);
  ClientMetrics& y = m.bindClient("edge", "t1", kLocalToRemote, "local", "sub-0", true);
  ClientMetrics& z = m.bindClient("edge", "t1", kLocalToRemote, "remote", "pub-0", false);
  EXPECT_EQ(&x, &y);
  EXPECT_NE(x.connected, z.connected);
  EXPECT_EQ(x.client, "sub-0");
  EXPECT_EQ(z.side, "remote");
}

TEST(Metrics, EveryPointerIsBound) {
  Metrics m("1", "r");
  RouteMetrics& r = m.bindRoute("c", "r", kLocalToRemote, "0");
  for (const void* p :
       {static_cast<const void*>(r.received), static_cast<const void*>(r.receivedBytes),
        static_cast<const void*>(r.forwarded), static_cast<const void*>(r.forwardedBytes),
        static_cast<const void*>(r.retried), static_cast<const void*>(r.inflight),
        static_cast<const void*>(r.latency), static_cast<const void*>(r.rateLimitWaitSeconds),
        static_cast<const void*>(r.lastDeliveryTimestamp),
        static_cast<const void*>(r.spoolMessages), static_cast<const void*>(r.spoolBytes)}) {
    EXPECT_NE(p, nullptr);
  }
  for (auto* c : r.dropped) {
    EXPECT_NE(c, nullptr);
  }
  ClientMetrics& c = m.bindClient("c", "r", kLocalToRemote, "remote", "pub-0", false);
  EXPECT_NE(c.connected, nullptr);
  EXPECT_NE(c.subscribed, nullptr);
  EXPECT_NE(c.connectAttempts, nullptr);
  EXPECT_NE(c.reconnects, nullptr);
  EXPECT_NE(c.connectFailures, nullptr);
  for (auto* f : c.failures) {
    EXPECT_NE(f, nullptr);
  }
}

TEST(Metrics, NamesFollowPrometheusConventions) {
  Metrics m("1.2.3", "abc");
  m.bindRoute("edge", "t1", kLocalToRemote, "0");
  m.bindClient("edge", "t1", kLocalToRemote, "local", "sub-0", true);
  const auto fams = m.registry()->Collect();
  ASSERT_GE(fams.size(), 20u);
  const std::set<std::string> allowedLabels{"connector", "route",  "direction", "branch",
                                            "side",      "client", "reason",    "version",
                                            "revision",  "result", "adjustment"};
  for (const auto& f : fams) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(isSnakeCaseMqbridgeName(f.name));
    EXPECT_FALSE(f.help.empty());
    const bool total = f.name.size() > 6 && f.name.substr(f.name.size() - 6) == "_total";
    EXPECT_EQ(total, f.type == prometheus::MetricType::Counter);
    EXPECT_EQ(f.name.find("milli"), std::string::npos);
    for (const auto& metric : f.metric) {
      for (const auto& l : metric.label) {
        EXPECT_TRUE(allowedLabels.count(l.name)) << l.name;
      }
    }
  }
  for (const char* name : {"mqbridge_messages_received_total",
                           "mqbridge_received_bytes_total",
                           "mqbridge_messages_forwarded_total",
                           "mqbridge_forwarded_bytes_total",
                           "mqbridge_messages_dropped_total",
                           "mqbridge_messages_retried_total",
                           "mqbridge_messages_inflight",
                           "mqbridge_spool_messages",
                           "mqbridge_spool_bytes",
                           "mqbridge_spool_capacity_bytes",
                           "mqbridge_delivery_latency_seconds",
                           "mqbridge_rate_limit_wait_seconds_total",
                           "mqbridge_last_delivery_timestamp_seconds",
                           "mqbridge_client_connected",
                           "mqbridge_client_subscribed",
                           "mqbridge_client_connect_attempts_total",
                           "mqbridge_client_connect_failures_total",
                           "mqbridge_client_reconnects_total",
                           "mqbridge_build_info",
                           "mqbridge_config_reloads_total",
                           "mqbridge_config_last_reload_successful",
                           "mqbridge_config_last_reload_success_timestamp_seconds",
                           "mqbridge_config_generation"}) {
    EXPECT_NE(family(fams, name), nullptr) << name;
  }
  const auto* info = family(fams, "mqbridge_build_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->metric.size(), 1u);
  EXPECT_EQ(label(info->metric[0], "version"), "1.2.3");
  EXPECT_EQ(label(info->metric[0], "revision"), "abc");
  EXPECT_EQ(info->metric[0].gauge.value, 1);

  const auto* recv = family(fams, "mqbridge_messages_received_total");
  ASSERT_NE(recv, nullptr);
  ASSERT_EQ(recv->metric.size(), 1u);
  EXPECT_EQ(label(recv->metric[0], "connector"), "edge");
  EXPECT_EQ(label(recv->metric[0], "route"), "t1");
  EXPECT_EQ(label(recv->metric[0], "direction"), "local_to_remote");
  EXPECT_EQ(label(recv->metric[0], "branch"), "0");
}

TEST(Metrics, AllDropReasonsAndFailureReasonsStartAtZero) {
  Metrics m("1", "r");
  m.bindRoute("c", "r", kLocalToRemote, "0");
  m.bindClient("c", "r", kLocalToRemote, "local", "sub-0", true);
  const auto fams = m.registry()->Collect();
  const auto* dropped = family(fams, "mqbridge_messages_dropped_total");
  ASSERT_NE(dropped, nullptr);
  std::set<std::string> reasons;
  for (const auto& metric : dropped->metric) {
    reasons.insert(label(metric, "reason"));
    EXPECT_EQ(metric.counter.value, 0);
  }
  EXPECT_EQ(reasons.size(), static_cast<std::size_t>(DropReason::kCount));
  EXPECT_TRUE(reasons.count("qos0_disconnected"));
  EXPECT_TRUE(reasons.count("expired"));
  const auto* failures = family(fams, "mqbridge_client_connect_failures_total");
  ASSERT_NE(failures, nullptr);
  EXPECT_EQ(failures->metric.size(), static_cast<std::size_t>(ConnectFailure::kCount));
}

TEST(Metrics, MessageLifecycleUpdatesCountersAndHistogram) {
  Metrics m("1", "r");
  RouteMetrics& r = m.bindRoute("c", "r", kLocalToRemote, "0");
  r.onReceived(10);
  r.onReceived(20);
  r.onReceived(30);
  EXPECT_EQ(r.inflight->Value(), 3);
  r.onForwarded(10, 0.0002, 1700000000.5);
  r.onForwarded(20, 3.0, 1700000001.0);
  r.onDropped(DropReason::Expired);
  EXPECT_EQ(r.received->Value(), 3);
  EXPECT_EQ(r.receivedBytes->Value(), 60);
  EXPECT_EQ(r.forwarded->Value(), 2);
  EXPECT_EQ(r.forwardedBytes->Value(), 30);
  EXPECT_EQ(r.inflight->Value(), 0);
  EXPECT_EQ(r.dropped[static_cast<std::size_t>(DropReason::Expired)]->Value(), 1);
  EXPECT_EQ(r.lastDeliveryTimestamp->Value(), 1700000001.0);
  const auto h = r.latency->Collect().histogram;
  EXPECT_EQ(h.sample_count, 2u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 3.0002);
  // 0.0002 lands in the 0.00025 bucket, 3.0 in the 5 bucket
  ASSERT_EQ(h.bucket.size(), Metrics::latencyBuckets().size() + 1);
  EXPECT_EQ(h.bucket[0].cumulative_count, 0u);  // <= 0.0001
  EXPECT_EQ(h.bucket[1].cumulative_count, 1u);  // <= 0.00025
  EXPECT_EQ(h.bucket.back().cumulative_count, 2u);
}

TEST(Metrics, LatencyBucketsResolve100MicrosecondsAnd10Seconds) {
  const auto& b = Metrics::latencyBuckets();
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_DOUBLE_EQ(b.front(), 0.0001);
  EXPECT_NE(std::find(b.begin(), b.end(), 10.0), b.end());
  EXPECT_GT(b.back(), 10.0);
}

TEST(Metrics, ReadinessFollowsClientGauges) {
  Metrics m("1", "r");
  EXPECT_FALSE(m.readiness().ready());  // nothing bound yet
  EXPECT_TRUE(m.readiness(/*allowEmpty=*/true).ready());
  ClientMetrics& sub = m.bindClient("c", "r", kLocalToRemote, "local", "sub-0", true);
  ClientMetrics& pub = m.bindClient("c", "r", kLocalToRemote, "remote", "pub-0", false);
  auto r = m.readiness();
  ASSERT_EQ(r.notReady.size(), 2u);
  EXPECT_NE(r.notReady[0].find("not connected"), std::string::npos) << r.notReady[0];
  sub.connected->Set(1);
  pub.connected->Set(1);
  r = m.readiness();
  ASSERT_EQ(r.notReady.size(), 1u);  // the subscriber has not subscribed yet
  EXPECT_NE(r.notReady[0].find("client=sub-0 not subscribed"), std::string::npos) << r.notReady[0];
  sub.subscribed->Set(1);
  EXPECT_TRUE(m.readiness().ready());
  pub.connected->Set(0);
  r = m.readiness();
  ASSERT_EQ(r.notReady.size(), 1u);
  EXPECT_NE(r.notReady[0].find("side=remote client=pub-0 not connected"), std::string::npos);
}

TEST(Metrics, ConnectivityPerSideWithTheLastFailureOfAClientNotConnected) {
  Metrics m("1", "r");
  ClientMetrics& sub = m.bindClient("c", "r", kLocalToRemote, "local", "sub-0", true);
  ClientMetrics& pub0 = m.bindClient("c", "r", kLocalToRemote, "remote", "pub-0", false);
  ClientMetrics& pub1 = m.bindClient("c", "r2", kLocalToRemote, "remote", "pub-0", false);
  sub.connected->Set(1);
  pub0.connected->Set(1);
  pub1.lastFailure->set("tcp_connect_failed: connection refused");
  auto sides = m.connectivity();
  ASSERT_EQ(sides.size(), 2u);  // ordered: (c, local), (c, remote)
  EXPECT_EQ(sides[0].side, "local");
  EXPECT_EQ(sides[0].clients, 1);
  EXPECT_EQ(sides[0].connected, 1);
  EXPECT_EQ(sides[0].failure, "");
  EXPECT_EQ(sides[1].side, "remote");
  EXPECT_EQ(sides[1].clients, 2);
  EXPECT_EQ(sides[1].connected, 1);
  EXPECT_EQ(sides[1].failure, "tcp_connect_failed: connection refused");
  // A connected client's note does not count (the observer clears it on connect anyway).
  pub1.connected->Set(1);
  EXPECT_EQ(m.connectivity()[1].failure, "");
}

TEST(Metrics, SubscribedIsExportedForSubscribersOnly) {
  Metrics m("1", "r");
  ClientMetrics& pub = m.bindClient("c", "r", kLocalToRemote, "remote", "pub-0", false);
  m.bindClient("c", "r", kLocalToRemote, "local", "sub-0", true);
  pub.subscribed->Set(0);  // harmless for a publisher
  auto fams = m.registry()->Collect();
  const auto* sub = family(fams, "mqbridge_client_subscribed");
  ASSERT_NE(sub, nullptr);
  ASSERT_EQ(sub->metric.size(), 1u);
  EXPECT_EQ(label(sub->metric[0], "client"), "sub-0");
  EXPECT_EQ(family(fams, "mqbridge_client_connected")->metric.size(), 2u);
  // binding the same client again as a subscriber exports it
  ClientMetrics& again = m.bindClient("c", "r", kLocalToRemote, "remote", "pub-0", true);
  EXPECT_EQ(&again, &pub);
  fams = m.registry()->Collect();
  EXPECT_EQ(family(fams, "mqbridge_client_subscribed")->metric.size(), 2u);
}

TEST(Metrics, ClientFailuresByReason) {
  Metrics m("1", "r");
  ClientMetrics& c = m.bindClient("c", "r", kRemoteToLocal, "remote", "sub-0", true);
  c.failure(ConnectFailure::Tls);
  c.failure(ConnectFailure::Tls);
  c.failure(ConnectFailure::Network);
  EXPECT_EQ(c.failures[static_cast<std::size_t>(ConnectFailure::Tls)]->Value(), 2);
  EXPECT_EQ(c.failures[static_cast<std::size_t>(ConnectFailure::Network)]->Value(), 1);
  // the family pointer and label views still allow an ad-hoc Add with the same labels
  auto& same = c.connectFailures->Add({{"connector", std::string(c.connector)},
                                       {"route", std::string(c.route)},
                                       {"direction", std::string(c.direction)},
                                       {"side", std::string(c.side)},
                                       {"client", std::string(c.client)},
                                       {"reason", "tls"}});
  EXPECT_EQ(&same, c.failures[static_cast<std::size_t>(ConnectFailure::Tls)]);
}

TEST(Metrics, UnbindRouteRemovesItsSeriesOnly) {
  Metrics m("1", "r");
  m.bindRoute("c", "gone", kLocalToRemote, "0");
  m.bindClient("c", "gone", kLocalToRemote, "local", "sub-0", true);
  RouteMetrics& kept = m.bindRoute("c", "kept", kLocalToRemote, "0");
  kept.onReceived(1);
  m.unbindRoute("c", "gone");
  const auto fams = m.registry()->Collect();
  for (const auto& f : fams) {
    for (const auto& metric : f.metric) {
      EXPECT_NE(label(metric, "route"), "gone") << f.name;
    }
  }
  EXPECT_EQ(family(fams, "mqbridge_messages_received_total")->metric.size(), 1u);
  EXPECT_EQ(kept.received->Value(), 1);
  // binding again after removal creates fresh series
  RouteMetrics& again = m.bindRoute("c", "gone", kLocalToRemote, "0");
  EXPECT_EQ(again.received->Value(), 0);
}

TEST(Metrics, RecordReload) {
  Metrics m("1", "r");
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  m.recordReload(true, t);
  m.recordReload(false, t + std::chrono::seconds(5));
  const auto fams = m.registry()->Collect();
  const auto* ok = family(fams, "mqbridge_config_last_reload_successful");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->metric.at(0).gauge.value, 0);
  EXPECT_EQ(family(fams, "mqbridge_config_last_reload_success_timestamp_seconds")
                ->metric.at(0)
                .gauge.value,
            1700000000);
  EXPECT_EQ(family(fams, "mqbridge_config_generation")->metric.at(0).gauge.value, 1);
  const auto* reloads = family(fams, "mqbridge_config_reloads_total");
  ASSERT_NE(reloads, nullptr);
  for (const auto& metric : reloads->metric) {
    EXPECT_EQ(metric.counter.value, 1) << label(metric, "result");
  }
}

}  // namespace
}  // namespace mqb::metrics

// The route fingerprint against the field lists: every field of a connector and a route is
// mutated, one at a time, through the same lists, and the fingerprint must change exactly when
// the field is behaviour (or, for the spools, when the effective settings change).

#include "config/fingerprint.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "config/loader.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

/// What a mutation must do to the fingerprint.
enum class Expect { Changes, Same, AsEffectiveSpool };

Expect under(Expect parent, FieldRole role) {
  if (parent != Expect::Changes) {
    return parent;
  }
  switch (role) {
    case FieldRole::Behaviour:
      return Expect::Changes;
    case FieldRole::Resolved:
      return Expect::AsEffectiveSpool;
    case FieldRole::ConnectorOnly:
    case FieldRole::Provenance:
      break;
  }
  return Expect::Same;
}

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

/// Mutates every field of a connector and its route in turn and checks the fingerprint.
class Mutator {
 public:
  Mutator(ConnectorSpec& c, RouteSpec& r) : c_(c), r_(r) {}

  std::set<std::string> probed;  ///< the paths mutated

  /// One mutation of the field at `path`, checked, then undone by the caller.
  void probe(const std::string& path, Expect e, const std::function<void()>& mutate) {
    const std::string before = routeFingerprint(c_, r_);
    const std::string spoolBefore = behaviourText(effectiveSpool(c_, r_));
    mutate();
    const bool changed = routeFingerprint(c_, r_) != before;
    const bool spoolChanged = behaviourText(effectiveSpool(c_, r_)) != spoolBefore;
    const bool want = e == Expect::Changes || (e == Expect::AsEffectiveSpool && spoolChanged);
    EXPECT_EQ(changed, want) << path;
    probed.insert(path);
  }

  template <class T>
  void each(T& x, const std::string& path, Expect e) {
    if constexpr (std::is_same_v<T, std::string>) {
      const T saved = x;
      probe(path, e, [&] { x += "~"; });
      x = saved;
    } else if constexpr (std::is_same_v<T, bool>) {
      probe(path, e, [&] { x = !x; });
      x = !x;
    } else if constexpr (std::is_enum_v<T> || std::is_arithmetic_v<T>) {
      const T saved = x;
      probe(path, e, [&] { x = next(x); });
      x = saved;
    } else if constexpr (std::is_same_v<T, Location>) {
      const T saved = x;
      probe(path, e, [&] { x.line += 1; });
      x = saved;
    } else if constexpr (std::is_same_v<T, YAML::Node>) {
      const T saved = YAML::Clone(x);
      probe(path, e, [&] { x["mutated"] = "1"; });
      x = saved;
    } else if constexpr (IsOptional<T>::value) {
      optional(x, path, e);
    } else if constexpr (IsVector<T>::value) {
      const T saved = x;
      probe(path + "[+]", e, [&] { x.emplace_back(); });
      for (std::size_t i = 0; i < x.size(); ++i) {
        each(x[i], path + "[" + std::to_string(i) + "]", e);
      }
      x = saved;
    } else {
      visitFields(x, [&](FieldRole role, std::string_view name, auto& member) {
        each(member, path + "." + std::string(name), under(e, role));
      });
    }
  }

 private:
  template <class T>
  static T next(T v) {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(static_cast<int>(v) == 0 ? 1 : 0);
    } else {
      return static_cast<T>(v + 1);
    }
  }

  /// Empties a set optional, or sets an empty one; then mutates every field of its value.
  template <class T>
  void optional(std::optional<T>& x, const std::string& path, Expect e) {
    const std::optional<T> saved = x;
    if (x) {
      probe(path + "=nullopt", e, [&] { x.reset(); });
      x = saved;
    } else {
      probe(path + "=set", e, [&] { x.emplace(); });
    }
    each(*x, path, e);
    x = saved;
  }

  ConnectorSpec& c_;
  RouteSpec& r_;
};

/// A connector and route as the loader gives them, with most optional parts set.
BridgeConfig loaded() {
  const std::string yaml = std::string(testing::kBaseConnector) + R"(  rateLimit:
    messagesPerSecond: 10
  spool:
    maxBytes: 1000
---
)" + testing::kBaseTopicMap +
                           R"(      target: b/{1}
      qos: 1
      sharedSubscription:
        groupName: g
        groupMinimumShareNumber: 2
      spool:
        fsync: always
      stages:
        - type: filter
          expression: 'true'
)";
  LoadResult r = loadText(yaml, "t.yaml", {});
  EXPECT_TRUE(r.ok()) << r.diagnostics.str();
  return r.ok() ? *r.config : BridgeConfig{};
}

TEST(RouteFingerprint, EveryFieldChangesItExactlyWhenItIsBehaviour) {
  BridgeConfig cfg = loaded();
  ASSERT_EQ(cfg.topicMaps.size(), 1u);
  ConnectorSpec& c = cfg.connectors.at(0);
  RouteSpec& r = cfg.topicMaps[0].routes.at(0);
  const std::string original = routeFingerprint(c, r);
  Mutator m(c, r);
  m.each(c, "connector", Expect::Changes);
  m.each(r, "route", Expect::Changes);
  // Every mutation was undone.
  EXPECT_EQ(routeFingerprint(c, r), original);
  // Spot checks that the walk reached nested and optional fields.
  for (const char* p :
       {"connector.remote.tls.caFiles[+]", "connector.local.auth.tokenFile",
        "connector.rateLimit.burstBytes", "connector.spool.fsyncIntervalMs", "connector.logLevel",
        "route.sharedSubscription.groupName", "route.stages[0].params", "route.ttlSeconds=set",
        "route.ttlSeconds", "route.spool.maxMessages", "route.target=nullopt", "route.where"}) {
    EXPECT_EQ(m.probed.count(p), 1u) << p;
  }
  EXPECT_GT(m.probed.size(), 80u);
}

template <class T>
void addNonBehaviour(const char* type, std::set<std::string>& out) {
  const T t{};
  visitFields(t, [&](FieldRole role, std::string_view name, const auto&) {
    static constexpr const char* kRoles[] = {"behaviour", "connector-only", "resolved",
                                             "provenance"};
    if (role != FieldRole::Behaviour) {
      out.insert(std::string(type) + "." + std::string(name) + ": " +
                 kRoles[static_cast<int>(role)]);
    }
  });
}

// The fields that do not rebuild a route, stated a second time on purpose: a field moved out of
// Behaviour (so a change to it would keep a stale route) has to be moved here as well.
TEST(RouteFingerprint, OnlyTheseFieldsLeaveRoutesAlone) {
  std::set<std::string> got;
  addNonBehaviour<TlsSpec>("TlsSpec", got);
  addNonBehaviour<AuthSpec>("AuthSpec", got);
  addNonBehaviour<BrokerConnection>("BrokerConnection", got);
  addNonBehaviour<ImageSpec>("ImageSpec", got);
  addNonBehaviour<RateLimitSpec>("RateLimitSpec", got);
  addNonBehaviour<SpoolSpec>("SpoolSpec", got);
  addNonBehaviour<SpoolSettings>("SpoolSettings", got);
  addNonBehaviour<StagePluginSpec>("StagePluginSpec", got);
  addNonBehaviour<ConnectorSpec>("ConnectorSpec", got);
  addNonBehaviour<SharedSubscriptionSpec>("SharedSubscriptionSpec", got);
  addNonBehaviour<StageSpec>("StageSpec", got);
  addNonBehaviour<RouteSpec>("RouteSpec", got);
  const std::set<std::string> want = {
      "TlsSpec.where: provenance",
      "AuthSpec.where: provenance",
      "BrokerConnection.where: provenance",
      "BrokerConnection.path: provenance",
      "SpoolSpec.where: provenance",
      "StagePluginSpec.path: provenance",
      "StagePluginSpec.where: provenance",
      "ConnectorSpec.ns: connector-only",
      "ConnectorSpec.image: connector-only",
      "ConnectorSpec.clientIdPrefixWhere: provenance",
      "ConnectorSpec.logLevel: connector-only",
      "ConnectorSpec.localDefaulted: provenance",
      "ConnectorSpec.statusTopic: connector-only",
      "ConnectorSpec.spool: resolved",
      "ConnectorSpec.stagePlugins: connector-only",
      "ConnectorSpec.where: provenance",
      "StageSpec.path: provenance",
      "StageSpec.where: provenance",
      "RouteSpec.nameDefaulted: provenance",
      "RouteSpec.sourceWhere: provenance",
      "RouteSpec.targetWhere: provenance",
      "RouteSpec.spool: resolved",
      "RouteSpec.topicMap: provenance",
      "RouteSpec.path: provenance",
      "RouteSpec.where: provenance",
  };
  EXPECT_EQ(got, want);
}

TEST(RouteFingerprint, SpoolSettingsCountAsResolved) {
  BridgeConfig cfg = loaded();
  ConnectorSpec& c = cfg.connectors.at(0);
  RouteSpec& r = cfg.topicMaps.at(0).routes.at(0);
  const std::string before = routeFingerprint(c, r);
  // Writing out the value the route already gets changes nothing.
  r.spool->maxBytes = 1000;
  EXPECT_EQ(routeFingerprint(c, r), before);
  c.spool->maxBytes = 2000;  // the route's own value wins
  EXPECT_EQ(routeFingerprint(c, r), before);
  r.spool->maxBytes.reset();
  EXPECT_NE(routeFingerprint(c, r), before);
}

TEST(RouteFingerprint, NumbersAreWrittenExactly) {
  BridgeConfig cfg = loaded();
  ConnectorSpec& c = cfg.connectors.at(0);
  RouteSpec& r = cfg.topicMaps.at(0).routes.at(0);
  c.rateLimit->messagesPerSecond = 1000000;
  const std::string before = routeFingerprint(c, r);
  c.rateLimit->messagesPerSecond = 1000000.5;
  EXPECT_NE(routeFingerprint(c, r), before);
}

TEST(RouteFingerprint, AnUnchangedReloadGivesTheSameFingerprint) {
  BridgeConfig a = loaded();
  BridgeConfig b = loaded();
  EXPECT_EQ(routeFingerprint(a.connectors.at(0), a.topicMaps.at(0).routes.at(0)),
            routeFingerprint(b.connectors.at(0), b.topicMaps.at(0).routes.at(0)));
}

}  // namespace
}  // namespace mqb::config

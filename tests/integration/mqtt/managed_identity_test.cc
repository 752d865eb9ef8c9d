// systemAssignedManagedIdentity: the token is fetched from an Azure Arc style endpoint (401
// challenge with a key file, then the token), cached, and sent as v5 enhanced authentication
// method OAUTH2-JWT; the test auth plugin accepts only that token.

#include "mqtt/auth/token_fetcher.h"
#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/fake_identity_endpoint.h"

namespace mqb::test {
namespace {

TEST(ManagedIdentity, FetchesWithArcChallengeAndCachesTheToken) {
  FakeIdentityEndpoint endpoint("jwt-abc", 3600);
  mqtt::auth::TokenFetcher fetcher(
      {endpoint.url(), "https://eventgrid.azure.net/", endpoint.keyDirectory()});
  EXPECT_FALSE(fetcher.cached().has_value());
  std::string error;
  auto token = fetcher.fetch(error);
  ASSERT_TRUE(token.has_value()) << error;
  EXPECT_EQ(*token, "jwt-abc");
  auto requests = endpoint.requests();
  ASSERT_EQ(requests.size(), 2u);  // challenged, then answered
  EXPECT_EQ(requests[0],
            "GET /metadata/identity/oauth2/token?api-version=2020-06-01&resource="
            "https%3A%2F%2Feventgrid.azure.net%2F HTTP/1.1");
  EXPECT_EQ(fetcher.cached(), std::optional<std::string>("jwt-abc"));
  EXPECT_EQ(endpoint.tokensIssued(), 1);
}

TEST(ManagedIdentity, ShortLivedTokenIsNotCachedPastItsLifetime) {
  FakeIdentityEndpoint endpoint("jwt-short", 0);
  mqtt::auth::TokenFetcher fetcher({endpoint.url(), "aud", endpoint.keyDirectory()});
  std::string error;
  ASSERT_TRUE(fetcher.fetch(error).has_value()) << error;
  EXPECT_FALSE(fetcher.cached().has_value());  // expired already: fetch again before use
}

TEST(ManagedIdentity, UnreachableEndpointIsAnErrorNotAHang) {
  mqtt::auth::TokenFetcher fetcher(
      {"http://127.0.0.1:" + std::to_string(freePort()) + "/token", "a"});
  std::string error;
  EXPECT_FALSE(fetcher.fetch(error).has_value());
  EXPECT_NE(error.find("onnect"), std::string::npos) << error;
}

#ifdef MQB_AUTH_PLUGIN_PATH
/// A remote that accepts exactly `token` as OAUTH2-JWT.
BrokerOptions jwtBroker(const std::string& token) {
  BrokerOptions ro;
  ro.plugin = MQB_AUTH_PLUGIN_PATH;
  ro.pluginOptions = {{"token", token}};
  return ro;
}

/// A route local → remote whose publisher `name`-pub authenticates with the managed identity
/// `endpoint` serves.
DirectRouteOptions miRoute(const MosquittoBroker& local, const MosquittoBroker& remote,
                           const FakeIdentityEndpoint& endpoint, const std::string& name) {
  auto conn = remote.connection();
  conn.auth.kind = config::AuthSpec::Kind::SystemAssignedManagedIdentity;
  conn.auth.audience = "https://eventgrid.azure.net/";
  auto o = routeOptions(local, remote, "mi/#", std::nullopt, name);
  o.target = clientFor(conn, "bridge-" + name + "-pub", config::MqttVersion::V5, false);
  o.target.credentials.identityEndpoint = endpoint.url();
  o.target.credentials.arcKeyDirectory = endpoint.keyDirectory();
  return o;
}

TEST(ManagedIdentity, Oauth2JwtEnhancedAuthWithFetchedToken) {
  FakeIdentityEndpoint endpoint("good-jwt", 3600);
  MosquittoBroker local;
  MosquittoBroker remote(jwtBroker("good-jwt"));
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  DirectRoute route(miRoute(local, remote, endpoint, "mi"));
  route.start();
  ASSERT_TRUE(route.waitReady(15s)) << remote.logText();
  EXPECT_NE(remote.logText().find("mqb-test-auth: accepted OAUTH2-JWT for bridge-mi-pub"),
            std::string::npos);
  EXPECT_EQ(endpoint.tokensIssued(), 1);
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("mi/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("mi/t", "with-jwt", 1));
  ASSERT_TRUE(sub.waitForCount(1));
  EXPECT_EQ(sub.received()[0].payload, "with-jwt");
}

TEST(ManagedIdentity, TokenRenewedBeforeExpiryGoesByReauthentication) {
  FakeIdentityEndpoint endpoint("good-jwt", 3);  // renewed after 90 % of its life
  MosquittoBroker local;
  MosquittoBroker remote(jwtBroker("good-jwt"));
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  auto o = miRoute(local, remote, endpoint, "mi-renew");
  o.target.credentialCheckInterval = std::chrono::milliseconds(200);
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady(15s)) << remote.logText();
  ASSERT_TRUE(waitFor(
      [&] {
        return remote.logText().find(
                   "accepted re-authentication OAUTH2-JWT for "
                   "bridge-mi-renew-pub") != std::string::npos;
      },
      15s))
      << remote.logText();
  EXPECT_GE(endpoint.tokensIssued(), 2);
  EXPECT_TRUE(waitFor([&] { return route.metrics().client.reauthentications[0]->Value() >= 1; }));
  EXPECT_EQ(route.metrics().client.reauthentications[1]->Value(), 0);
  const std::string log = remote.logText();
  EXPECT_EQ(log.find("as bridge-mi-renew-pub ("), log.rfind("as bridge-mi-renew-pub ("))
      << "one connection only";
}
#endif

}  // namespace
}  // namespace mqb::test

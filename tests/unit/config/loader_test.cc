// One good and one bad case for every validation rule of the resource loader.

#include "config/loader.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;
namespace fs = std::filesystem;

LoadResult withConnector(const std::string& path, const std::string& yaml) {
  YAML::Node c = baseConnector();
  setPath(c, path, yaml);
  return loadPair(c, baseTopicMap());
}

LoadResult withMap(const std::string& path, const std::string& yaml) {
  YAML::Node m = baseTopicMap();
  setPath(m, path, yaml);
  return loadPair(baseConnector(), m);
}

LoadResult withRoute(const std::string& field, const std::string& yaml) {
  return withMap("spec.routes[0]." + field, yaml);
}

LoadResult withV3Map(const std::string& routesYaml) {
  YAML::Node c = baseConnector();
  setPath(c, "spec.protocol", "v3");
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes", routesYaml);
  return loadPair(c, m);
}

TEST(Loader, BaseResourcesAreValidAndDefaultsApply) {
  YAML::Node c = baseConnector();
  erasePath(c, "spec.localBrokerConnection");
  const LoadResult r = loadPair(c, baseTopicMap());
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const BridgeConfig& cfg = *r.config;
  ASSERT_EQ(cfg.connectors.size(), 1u);
  const ConnectorSpec& con = cfg.connectors[0];
  EXPECT_EQ(con.bridgeInstances, 1);
  EXPECT_EQ(con.logLevel, LogLevel::Info);
  EXPECT_EQ(con.remote.transport, Transport::Mqtt);
  EXPECT_EQ(con.remote.host, "127.0.0.1");
  EXPECT_EQ(con.remote.port, 1884);
  EXPECT_TRUE(con.localDefaulted);
  EXPECT_EQ(con.local.endpoint, "aio-mq-dmqtt-frontend:8883");
  EXPECT_TRUE(con.local.tls.enabled);
  EXPECT_EQ(con.local.tls.trustedCaCertificateConfigMap, "aio-ca-trust-bundle-test-only");
  EXPECT_EQ(con.local.auth.kind, AuthSpec::Kind::Kubernetes);
  ASSERT_EQ(cfg.topicMaps.size(), 1u);
  const RouteSpec& route = cfg.topicMaps[0].routes[0];
  EXPECT_EQ(route.qos, 1);
  EXPECT_FALSE(route.target.has_value());
  EXPECT_EQ(route.connector, "bridge");
  EXPECT_EQ(route.topicMap, "map");
  EXPECT_EQ(route.retain, RetainPolicy::Keep);
}

TEST(Loader, RequiredFields) {
  YAML::Node c = baseConnector();
  erasePath(c, "spec.protocol");
  erasePath(c, "spec.image");
  YAML::Node m = baseTopicMap();
  erasePath(m, "spec.routes[0].direction");
  erasePath(m, "spec.routes[0].source");
  const LoadResult r = loadPair(c, m);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, "spec.protocol", "required field is missing")) << r.diagnostics.str();
  EXPECT_TRUE(hasError(r, "spec.image", "required field is missing"));
  EXPECT_TRUE(hasError(r, "spec.routes[0].direction", "required field is missing"));
  EXPECT_TRUE(hasError(r, "spec.routes[0].source", "required field is missing"));
  EXPECT_TRUE(withRoute("name", "\"ok\"").ok());
}

TEST(Loader, RequiredConnectionParts) {
  YAML::Node c = baseConnector();
  erasePath(c, "spec.remoteBrokerConnection.tls");
  erasePath(c, "spec.localBrokerConnection.authentication");
  erasePath(c, "spec.localBrokerConnection.endpoint");
  const LoadResult r = loadPair(c, baseTopicMap());
  EXPECT_TRUE(hasError(r, "spec.remoteBrokerConnection.tls", "required")) << r.diagnostics.str();
  EXPECT_TRUE(hasError(r, "spec.localBrokerConnection.authentication", "required"));
  EXPECT_TRUE(hasError(r, "spec.localBrokerConnection.endpoint", "required"));
  EXPECT_TRUE(hasError(withConnector("spec.remoteBrokerConnection.tls", "{}"),
                       "spec.remoteBrokerConnection.tls.tlsEnabled", "required"));
}

TEST(Loader, WrongTypes) {
  EXPECT_TRUE(hasError(withConnector("spec.bridgeInstances", "two"), "spec.bridgeInstances",
                       "expected an integer"));
  EXPECT_TRUE(hasError(withConnector("spec.remoteBrokerConnection.tls.tlsEnabled", "sometimes"),
                       "spec.remoteBrokerConnection.tls.tlsEnabled", "expected true or false"));
  EXPECT_TRUE(hasError(withMap("spec.routes", "{a: 1}"), "spec.routes", "expected a list"));
  EXPECT_TRUE(
      hasError(withRoute("source", "[a, b]"), "spec.routes[0].source", "expected a string"));
  EXPECT_TRUE(withConnector("spec.bridgeInstances", "3").ok());
}

TEST(Loader, UnknownFieldsSuggestTheNearestName) {
  const LoadResult r = withConnector("spec.protocl", "v5");
  EXPECT_TRUE(hasError(r, "spec.protocl", "did you mean \"protocol\"")) << r.diagnostics.str();
  const LoadResult r2 = withRoute("sorce", "x");
  EXPECT_TRUE(hasError(r2, "spec.routes[0].sorce", "did you mean \"source\""));
  EXPECT_TRUE(hasError(withConnector("spec.remoteBrokerConnection.tls.tlsEnable", "true"),
                       "spec.remoteBrokerConnection.tls.tlsEnable", "did you mean \"tlsEnabled\""));
  // Kubernetes-managed metadata is accepted.
  EXPECT_TRUE(withConnector("metadata.labels", "{app: mqbridge}").ok());
}

TEST(Loader, Enumerations) {
  EXPECT_TRUE(hasError(withConnector("spec.protocol", "v4"), "spec.protocol", "one of v5, v3"));
  EXPECT_TRUE(withConnector("spec.protocol", "v3").ok());
  EXPECT_TRUE(hasError(withRoute("direction", "remote-to-locl"), "spec.routes[0].direction",
                       "did you mean \"remote-to-local\""));
  EXPECT_TRUE(withRoute("direction", "remote-to-local").ok());
  EXPECT_TRUE(hasError(withConnector("spec.logLevel", "verbose"), "spec.logLevel"));
  for (const char* l : {"debug", "info", "warn", "error"}) {
    EXPECT_TRUE(withConnector("spec.logLevel", l).ok()) << l;
  }
  EXPECT_TRUE(hasError(withConnector("spec.remoteBrokerConnection.protocol", "websocket"),
                       "spec.remoteBrokerConnection.protocol", "did you mean \"webSocket\""));
  const LoadResult ws = withConnector("spec.remoteBrokerConnection.protocol", "webSocket");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws.config->connectors[0].remote.transport, Transport::WebSocket);
  EXPECT_TRUE(hasError(withRoute("retain", "sometimes"), "spec.routes[0].retain"));
  EXPECT_TRUE(withRoute("retain", "never").ok());
  EXPECT_TRUE(
      hasError(withConnector("spec.image.pullPolicy", "Sometimes"), "spec.image.pullPolicy"));
}

TEST(Loader, QosIsZeroOrOne) {
  EXPECT_TRUE(hasError(withRoute("qos", "2"), "spec.routes[0].qos", "between 0 and 1"));
  EXPECT_TRUE(hasError(withRoute("qos", "-1"), "spec.routes[0].qos"));
  const LoadResult r = withRoute("qos", "0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->topicMaps[0].routes[0].qos, 0);
}

TEST(Loader, SourceIsAValidFilter) {
  EXPECT_TRUE(hasError(withRoute("source", "a/#/b"), "spec.routes[0].source",
                       "'#' must be the last level"));
  EXPECT_TRUE(hasError(withRoute("source", "a+"), "spec.routes[0].source", "'+'"));
  EXPECT_TRUE(hasError(withRoute("source", "\"\""), "spec.routes[0].source", "empty"));
  EXPECT_TRUE(
      hasError(withRoute("source", "$share/g/a"), "spec.routes[0].source", "sharedSubscription"));
  EXPECT_TRUE(withRoute("source", "telemetry/+/temperature").ok());
}

TEST(Loader, TargetIsATopicNameOrTemplate) {
  EXPECT_TRUE(hasError(withRoute("target", "a/+"), "spec.routes[0].target", "wildcards"));
  EXPECT_TRUE(hasError(withRoute("target", "a/#"), "spec.routes[0].target", "wildcards"));
  EXPECT_TRUE(hasError(withRoute("target", "factory/{1}/+"), "spec.routes[0].target"));
  EXPECT_TRUE(hasError(withRoute("target", "\"factory/{1\""), "spec.routes[0].target"));
  EXPECT_TRUE(withRoute("target", "factory/telemetry").ok());
  EXPECT_TRUE(withRoute("target", "\"factory/{1}/{2-#}\"").ok());
  EXPECT_TRUE(withRoute("target", "\"a/{{x}}/{1}\"").ok());  // {{ and }}: literal braces
  // The template's own rules, with the topic_rewrite stage's words, at the target.
  const LoadResult r = withRoute("target", "\"a/{0}\"");
  EXPECT_TRUE(hasError(r, "spec.routes[0].target",
                       "invalid target \"a/{0}\": invalid placeholder \"{0}\" at column 3: levels "
                       "are numbered from 1"))
      << r.diagnostics.str();
}

TEST(Loader, RouteNamesAreUniquePerConnectorAcrossTopicMaps) {
  YAML::Node m2 = baseTopicMap();
  setPath(m2, "metadata.name", "map2");
  const LoadResult r = loadDocs({baseConnector(), baseTopicMap(), m2});
  EXPECT_TRUE(hasError(r, "spec.routes[0].name", "duplicate route name \"r1\""))
      << r.diagnostics.str();
  // The same name on another connector is fine.
  YAML::Node c2 = baseConnector();
  setPath(c2, "metadata.name", "bridge2");
  setPath(m2, "spec.mqttBridgeConnectorRef", "bridge2");
  const LoadResult ok = loadDocs({baseConnector(), c2, baseTopicMap(), m2});
  EXPECT_TRUE(ok.ok()) << ok.diagnostics.str();
}

TEST(Loader, RouteNamesAreUsableInClientIds) {
  EXPECT_TRUE(
      hasError(withRoute("name", "\"my route\""), "spec.routes[0].name", "letters, digits"));
  EXPECT_TRUE(hasError(withRoute("name", "\"a.b\""), "spec.routes[0].name"));
  EXPECT_TRUE(hasError(withRoute("name", "\"\""), "spec.routes[0].name"));
  EXPECT_TRUE(withRoute("name", "My_route-1").ok());
}

TEST(Loader, UnnamedRoutesGetPositionalNamesWithAWarning) {
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes",
          "[{direction: local-to-remote, source: a}, "
          "{direction: local-to-remote, source: b}]");
  const LoadResult r = loadPair(baseConnector(), m);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->topicMaps[0].routes[0].name, "route1");
  EXPECT_EQ(r.config->topicMaps[0].routes[1].name, "route2");
  EXPECT_TRUE(r.config->topicMaps[0].routes[1].nameDefaulted);
  EXPECT_TRUE(hasWarning(r, "spec.routes[1].name", "\"route2\""));
  EXPECT_EQ(warningCount(withRoute("name", "named")), 0u);
}

TEST(Loader, TopicMapMustNameAnExistingConnector) {
  const LoadResult r = withMap("spec.mqttBridgeConnectorRef", "bridg");
  EXPECT_TRUE(hasError(r, "spec.mqttBridgeConnectorRef",
                       "no MqttBridgeConnector named \"bridg\" (did you mean \"bridge\"?)"))
      << r.diagnostics.str();
  const LoadResult alone = loadDocs({baseTopicMap()});
  EXPECT_TRUE(hasError(alone, "spec.mqttBridgeConnectorRef", "no connector is defined"));
}

TEST(Loader, SharedSubscription) {
  EXPECT_TRUE(
      hasError(withRoute("sharedSubscription", "{groupMinimumShareNumber: 0, groupName: g}"),
               "spec.routes[0].sharedSubscription.groupMinimumShareNumber", "between 1 and"));
  EXPECT_TRUE(hasError(withRoute("sharedSubscription", "{groupMinimumShareNumber: 2}"),
                       "spec.routes[0].sharedSubscription.groupName", "required"));
  for (const char* bad : {"a/b", "g+", "g#"}) {
    EXPECT_TRUE(
        hasError(withRoute("sharedSubscription",
                           std::string("{groupMinimumShareNumber: 2, groupName: \"") + bad + "\"}"),
                 "spec.routes[0].sharedSubscription.groupName", "must not contain"))
        << bad;
  }
  const LoadResult r =
      withRoute("sharedSubscription", "{groupMinimumShareNumber: 1, groupName: group1}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->topicMaps[0].routes[0].clientCount(), 1);
}

TEST(Loader, Endpoints) {
  const std::string p = "spec.remoteBrokerConnection.endpoint";
  EXPECT_TRUE(hasError(withConnector(p, "broker.example.com"), p, "missing port"));
  EXPECT_TRUE(hasError(withConnector(p, "\"host:0\""), p, "1 to 65535"));
  EXPECT_TRUE(hasError(withConnector(p, "\"host:65536\""), p, "1 to 65535"));
  EXPECT_TRUE(hasError(withConnector(p, "\"host:88x\""), p, "1 to 65535"));
  EXPECT_TRUE(hasError(withConnector(p, "\"::1:1883\""), p, "brackets"));
  EXPECT_TRUE(hasError(withConnector(p, "\"mqtts://host:8883\""), p, "scheme"));
  EXPECT_TRUE(hasError(withConnector(p, "\":1883\""), p, "host"));
  EXPECT_TRUE(hasError(withConnector(p, "\"[zz]:1883\""), p, "IPv6"));
  const LoadResult v6 = withConnector(p, "\"[::1]:1883\"");
  ASSERT_TRUE(v6.ok()) << v6.diagnostics.str();
  EXPECT_EQ(v6.config->connectors[0].remote.host, "::1");
  EXPECT_EQ(v6.config->connectors[0].remote.port, 1883);
  EXPECT_TRUE(withConnector(p, "example.westeurope-1.ts.eventgrid.azure.net:8883").ok());
  EXPECT_TRUE(withConnector(p, "\"h:65535\"").ok());
}

TEST(Loader, AckTimeoutAndCredentialCheckAreBoundedExtensions) {
  const std::string ack = "spec.remoteBrokerConnection.ackTimeoutSeconds";
  const std::string check = "spec.localBrokerConnection.credentialCheckSeconds";
  const LoadResult defaults = withConnector("spec.logLevel", "info");
  ASSERT_TRUE(defaults.ok()) << defaults.diagnostics.str();
  EXPECT_EQ(defaults.config->connectors[0].remote.ackTimeoutSeconds, 60u);
  EXPECT_EQ(defaults.config->connectors[0].remote.credentialCheckSeconds, 10u);
  const LoadResult off = withConnector(ack, "0");
  ASSERT_TRUE(off.ok()) << off.diagnostics.str();
  EXPECT_EQ(off.config->connectors[0].remote.ackTimeoutSeconds, 0u);
  EXPECT_TRUE(hasError(withConnector(ack, "-1"), ack, "0"));
  EXPECT_TRUE(hasError(withConnector(ack, "86401"), ack, "86400"));
  EXPECT_TRUE(hasError(withConnector(check, "3601"), check, "3600"));
  EXPECT_TRUE(hasError(withConnector(check, "often"), check, "integer"));
}

TEST(Loader, BridgeInstancesAtLeastOne) {
  EXPECT_TRUE(hasError(withConnector("spec.bridgeInstances", "0"), "spec.bridgeInstances",
                       "between 1 and"));
  const LoadResult r = withConnector("spec.bridgeInstances", "2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->connectors[0].bridgeInstances, 2);
}

TEST(Loader, LongClientIdsWarnOnlyForV3) {
  const std::string routes =
      "[{name: a-rather-long-route-name, direction: local-to-remote, "
      "source: a}]";
  const LoadResult v3 = withV3Map(routes);
  ASSERT_TRUE(v3.ok());
  EXPECT_TRUE(hasWarning(v3, "spec.routes[0].name", "23 bytes")) << v3.diagnostics.str();
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes", routes);
  const LoadResult v5 = loadPair(baseConnector(), m);
  ASSERT_TRUE(v5.ok());
  EXPECT_EQ(warningCount(v5), 0u) << v5.diagnostics.str();
  EXPECT_EQ(warningCount(withV3Map("[{name: short, direction: local-to-remote, source: a}]")), 0u);
}

TEST(Loader, DuplicateConnectorAndTopicMapNames) {
  const LoadResult r = loadDocs({baseConnector(), baseConnector(), baseTopicMap(), baseTopicMap()});
  EXPECT_TRUE(hasError(r, "metadata.name", "duplicate MqttBridgeConnector \"bridge\""))
      << r.diagnostics.str();
  EXPECT_TRUE(hasError(r, "metadata.name", "duplicate MqttBridgeTopicMap \"map\""));
}

TEST(Loader, V3WithSharedSubscriptionWarns) {
  const LoadResult r = withV3Map(
      "[{name: s, direction: local-to-remote, source: a, "
      "sharedSubscription: {groupMinimumShareNumber: 2, groupName: g}}]");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(hasWarning(r, "spec.routes[0].sharedSubscription", "v3.1.1"));
  EXPECT_EQ(
      warningCount(withRoute("sharedSubscription", "{groupMinimumShareNumber: 2, groupName: g}")),
      0u);
}

TEST(Loader, V3LoopWarning) {
  const LoadResult loop = withV3Map(
      "[{name: up, direction: local-to-remote, source: local/#, target: remote/x},"
      " {name: down, direction: remote-to-local, source: remote/+, target: local/y}]");
  ASSERT_TRUE(loop.ok());
  EXPECT_TRUE(hasWarning(loop, "spec.routes[1]",
                         "routes up and down form a loop; on v5 mqbridge breaks it with a hop "
                         "marker, on v3 it cannot"))
      << loop.diagnostics.str();
  const LoadResult noLoop = withV3Map(
      "[{name: up, direction: local-to-remote, source: local/#, target: remote/x},"
      " {name: down, direction: remote-to-local, source: commands/+, target: local/y}]");
  EXPECT_EQ(warningCount(noLoop), 0u) << noLoop.diagnostics.str();
}

TEST(Loader, AuthenticationNeedsExactlyOneMethod) {
  const std::string a = "spec.remoteBrokerConnection.authentication";
  EXPECT_TRUE(hasError(withConnector(a, "{}"), a, "needs one method"));
  EXPECT_TRUE(hasError(withConnector(a, "{anonymous: {}, kubernetes: {}}"), a,
                       "only one authentication method"));
  EXPECT_TRUE(hasError(withConnector(a, "{systemAssignedManagedIdentity: {}}"),
                       a + ".systemAssignedManagedIdentity.audience", "required"));
  EXPECT_TRUE(hasError(withConnector(a, "{x509: {secretName: ../etc}}"), a + ".x509.secretName",
                       "object name"));
  const LoadResult mi =
      withConnector(a, "{systemAssignedManagedIdentity: {audience: https://eventgrid.azure.net}}");
  ASSERT_TRUE(mi.ok()) << mi.diagnostics.str();
  EXPECT_EQ(mi.config->connectors[0].remote.auth.audience, "https://eventgrid.azure.net");
}

TEST(Loader, ResolvesMountedReferences) {
  LoadOptions o;
  o.secretsDir = "/s";
  o.configmapsDir = "/nonexistent-cm";
  o.saTokenFile = "/t/token";
  YAML::Node c = baseConnector();
  setPath(c, "spec.remoteBrokerConnection.authentication", "{x509: {secretName: cert}}");
  setPath(c, "spec.localBrokerConnection.authentication", "{usernamePassword: {secretName: up}}");
  const LoadResult r = loadPair(c, baseTopicMap(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();  // without checkFiles nothing must exist
  const auto& con = r.config->connectors[0];
  EXPECT_EQ(con.remote.auth.certFile, "/s/cert/client_cert.pem");
  EXPECT_EQ(con.remote.auth.keyFile, "/s/cert/client_key.pem");
  EXPECT_EQ(con.remote.auth.intermediateFile, "/s/cert/client_intermediate_certs.pem");
  EXPECT_EQ(con.local.auth.usernameFile, "/s/up/username");
  EXPECT_EQ(con.local.auth.passwordFile, "/s/up/password");
  YAML::Node k = baseConnector();
  erasePath(k, "spec.localBrokerConnection");
  const LoadResult kr = loadPair(k, baseTopicMap(), o);
  ASSERT_TRUE(kr.ok());
  EXPECT_EQ(kr.config->connectors[0].local.auth.tokenFile, "/t/token");
}

// --- file checks (checkFiles) -------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mqb-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories(fs::path(path_ / fs::path(rel)).parent_path());
    std::ofstream(fs::path(path_) / rel) << text;
  }

 private:
  std::string path_;
};

// A self-signed EC certificate and its key, as PEM.
std::pair<std::string, std::string> makeCertAndKey() {
  char curve[] = "P-256";  // EVP_EC_gen() casts a literal's const away: clang's -Wcast-qual
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mqbridge-test"), -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_sign(x, key, EVP_sha256());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long cl = BIO_get_mem_data(cb, &p);
  std::string cert(p, static_cast<std::size_t>(cl));
  const long kl = BIO_get_mem_data(kb, &p);
  std::string pkey(p, static_cast<std::size_t>(kl));
  BIO_free(cb);
  BIO_free(kb);
  X509_free(x);
  EVP_PKEY_free(key);
  return {cert, pkey};
}

LoadResult withFiles(const TempDir& d, const std::string& remoteAuth, const std::string& tls) {
  LoadOptions o;
  o.secretsDir = d.path() + "/secrets";
  o.configmapsDir = d.path() + "/configmaps";
  o.saTokenFile = d.path() + "/token";
  o.checkFiles = true;
  YAML::Node c = baseConnector();
  setPath(c, "spec.remoteBrokerConnection.authentication", remoteAuth);
  setPath(c, "spec.remoteBrokerConnection.tls", tls);
  return loadPair(c, baseTopicMap(), o);
}

TEST(LoaderFiles, X509FilesMustExistAndParse) {
  TempDir d;
  const auto [cert, key] = makeCertAndKey();
  const std::string auth = "{x509: {secretName: client}}";
  const std::string noTls = "{tlsEnabled: false}";
  const std::string p = "spec.remoteBrokerConnection.authentication.x509.secretName";
  EXPECT_TRUE(hasError(withFiles(d, auth, noTls), p, "does not exist"));
  d.write("secrets/client/client_cert.pem", "not a certificate\n");
  d.write("secrets/client/client_key.pem", key);
  EXPECT_TRUE(hasError(withFiles(d, auth, noTls), p, "no PEM certificate"));
  d.write("secrets/client/client_cert.pem", cert);
  d.write("secrets/client/client_key.pem", "garbage");
  EXPECT_TRUE(hasError(withFiles(d, auth, noTls), p, "private key"));
  d.write("secrets/client/client_key.pem", makeCertAndKey().second);  // another key
  EXPECT_TRUE(hasError(withFiles(d, auth, noTls), p, "does not match"));
  d.write("secrets/client/client_key.pem", key);
  const LoadResult ok = withFiles(d, auth, noTls);
  EXPECT_TRUE(ok.ok()) << ok.diagnostics.str();
}

TEST(LoaderFiles, CaConfigMapMustHoldParsablePem) {
  TempDir d;
  const std::string auth = "{anonymous: {}}";
  const std::string tls = "{tlsEnabled: true, trustedCaCertificateConfigMap: ca}";
  const std::string p = "spec.remoteBrokerConnection.tls.trustedCaCertificateConfigMap";
  EXPECT_TRUE(hasError(withFiles(d, auth, tls), p, "no *.pem or *.crt"));
  d.write("configmaps/ca/root_ca.crt", "-----BEGIN CERTIFICATE-----\nbroken\n");
  EXPECT_TRUE(hasError(withFiles(d, auth, tls), p, "no PEM certificate"));
  d.write("configmaps/ca/root_ca.crt", makeCertAndKey().first);
  d.write("configmaps/ca/README", "ignored");
  const LoadResult ok = withFiles(d, auth, tls);
  ASSERT_TRUE(ok.ok()) << ok.diagnostics.str();
  ASSERT_EQ(ok.config->connectors[0].remote.tls.caFiles.size(), 1u);
  EXPECT_EQ(ok.config->connectors[0].remote.tls.caFiles[0],
            d.path() + "/configmaps/ca/root_ca.crt");
}

TEST(LoaderFiles, UsernamePasswordAndTokenFilesMustExist) {
  TempDir d;
  const std::string noTls = "{tlsEnabled: false}";
  const std::string up = "{usernamePassword: {secretName: creds}}";
  const LoadResult missing = withFiles(d, up, noTls);
  EXPECT_TRUE(hasError(missing,
                       "spec.remoteBrokerConnection.authentication.usernamePassword."
                       "secretName",
                       "username file"))
      << missing.diagnostics.str();
  d.write("secrets/creds/username", "u");
  d.write("secrets/creds/password", "p");
  EXPECT_TRUE(withFiles(d, up, noTls).ok());
  const std::string k = "spec.remoteBrokerConnection.authentication.kubernetes";
  EXPECT_TRUE(hasError(withFiles(d, "{kubernetes: {}}", noTls), k, "service account token"));
  d.write("token", "eyJ...");
  EXPECT_TRUE(withFiles(d, "{kubernetes: {}}", noTls).ok());
}

// --- YAML-level problems ------------------------------------------------------------------

TEST(LoaderYaml, DuplicateKeysAreReported) {
  std::string text = std::string(kBaseConnector) + "---\n" + kBaseTopicMap +
                     "      qos: 0\n"
                     "      qos: 1\n";
  const LoadResult r = loadText(text, "dup.yaml", {});
  EXPECT_TRUE(hasError(r, "spec.routes[0].qos", "duplicate key")) << r.diagnostics.str();
  EXPECT_TRUE(loadText(std::string(kBaseConnector) + "---\n" + kBaseTopicMap, "f", {}).ok());
}

TEST(LoaderYaml, ParserErrorsGiveFileLineAndColumn) {
  const LoadResult r = loadText("a: b\nc: [unclosed\n", "bad.yaml", {});
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.all().size(), 1u);
  const Diagnostic& d = r.diagnostics.all()[0];
  EXPECT_EQ(d.where.file, "bad.yaml");
  EXPECT_GT(d.where.line, 0);
  EXPECT_GT(d.where.column, 0);
  EXPECT_NE(d.message.find("invalid YAML"), std::string::npos);
}

TEST(LoaderYaml, WrongKindAndApiVersionAreLocated) {
  YAML::Node c = baseConnector();
  setPath(c, "kind", "MqttBridgeConector");
  const LoadResult r = loadPair(c, baseTopicMap());
  EXPECT_TRUE(hasError(r, "kind", "did you mean \"MqttBridgeConnector\"")) << r.diagnostics.str();
  YAML::Node c2 = baseConnector();
  setPath(c2, "apiVersion", "mq.iotoperations.azure.com/v1");
  const LoadResult r2 = loadPair(c2, baseTopicMap());
  EXPECT_TRUE(hasError(r2, "apiVersion", "expected mq.iotoperations.azure.com/v1beta1"));
  for (const auto& d : r2.diagnostics.all()) {
    EXPECT_GT(d.where.line, 0) << format(d);
  }
}

TEST(LoaderYaml, MultiDocumentInAnyOrder) {
  const std::string text = std::string(kBaseTopicMap) + "---\n" + kBaseConnector + "---\n";
  const LoadResult r = loadText(text, "all.yaml", {});
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors.size(), 1u);
  EXPECT_EQ(r.config->topicMaps.size(), 1u);
}

TEST(LoaderYaml, DirectoriesAreReadSortedAndOnlyYaml) {
  TempDir d;
  d.write("conf/b-map.yml", kBaseTopicMap);
  d.write("conf/a-connector.yaml", kBaseConnector);
  d.write("conf/notes.txt", "not: yaml: at: all: [");
  d.write("conf/sub/ignored.yaml", "garbage: [");  // not recursive
  LoadOptions o;
  o.paths = {d.path() + "/conf"};
  const LoadResult r = load(o);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->topicMaps[0].routes[0].where.file, d.path() + "/conf/b-map.yml");
  o.paths = {d.path() + "/missing"};
  EXPECT_TRUE(hasError(load(o), "", "no such file"));
  o.paths = {d.path() + "/conf/sub/ignored.yaml", d.path() + "/conf"};
  EXPECT_FALSE(load(o).ok());
}

TEST(LoaderYaml, EmptyInputIsAnError) {
  EXPECT_FALSE(loadText("", "empty.yaml", {}).ok());
  EXPECT_FALSE(loadText("# only a comment\n", "c.yaml", {}).ok());
  EXPECT_FALSE(load(LoadOptions{}).ok());
}

// --- extensions ---------------------------------------------------------------------------

TEST(LoaderExtensions, RateLimit) {
  const LoadResult r =
      withRoute("rateLimit", "{messagesPerSecond: 100, burstMessages: 10, bytesPerSecond: 1e6}");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const auto& rl = *r.config->topicMaps[0].routes[0].rateLimit;
  EXPECT_EQ(rl.messagesPerSecond, 100);
  EXPECT_EQ(rl.burstMessages, 10);
  EXPECT_EQ(rl.bytesPerSecond, 1e6);
  EXPECT_TRUE(hasError(withRoute("rateLimit", "{messagesPerSecond: -1}"),
                       "spec.routes[0].rateLimit.messagesPerSecond", "> 0"));
  EXPECT_TRUE(hasError(withRoute("rateLimit", "{}"), "spec.routes[0].rateLimit", "needs"));
  EXPECT_TRUE(hasError(withRoute("rateLimit", "{bytesPerSecond: 5, burstMessages: 3}"),
                       "spec.routes[0].rateLimit.burstMessages"));
  EXPECT_TRUE(withConnector("spec.rateLimit", "{messagesPerSecond: 100}").ok());
}

TEST(LoaderExtensions, Stages) {
  const LoadResult r = withRoute("stages", "[{type: filter, match: a/b}, {type: rate_limit}]");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const auto& st = r.config->topicMaps[0].routes[0].stages;
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].type, "filter");
  EXPECT_EQ(st[0].path, "spec.routes[0].stages[0]");
  EXPECT_EQ(st[0].params["match"].as<std::string>(), "a/b");
  EXPECT_TRUE(
      hasError(withRoute("stages", "[{match: a}]"), "spec.routes[0].stages[0].type", "required"));
  EXPECT_TRUE(
      hasError(withRoute("stages", "[filter]"), "spec.routes[0].stages[0]", "expected a mapping"));
}

TEST(LoaderExtensions, StatusTopicDefaultsPerConnectorAndEmptyTurnsItOff) {
  const LoadResult d = loadPair(baseConnector(), baseTopicMap());
  ASSERT_TRUE(d.ok()) << d.diagnostics.str();
  const auto& c = d.config->connectors[0];
  EXPECT_EQ(c.statusTopic, "mqbridge/" + c.name + "/status");
  YAML::Node off = baseConnector();
  setPath(off, "spec.statusTopic", "\"\"");
  const LoadResult r = loadPair(off, baseTopicMap());
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].statusTopic, "");
}

TEST(LoaderExtensions, ConnectorFields) {
  YAML::Node c = baseConnector();
  setPath(c, "spec.statusTopic", "bridge/status");
  setPath(c, "spec.hopMarker", "x-hop");
  setPath(c, "spec.keepAliveSeconds", "30");
  setPath(c, "spec.sessionExpirySeconds", "0");
  const LoadResult r = loadPair(c, baseTopicMap());
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].statusTopic, "bridge/status");
  EXPECT_EQ(r.config->connectors[0].hopMarker, "x-hop");
  EXPECT_EQ(r.config->connectors[0].keepAliveSeconds, 30);
  EXPECT_EQ(r.config->connectors[0].sessionExpirySeconds, 0);
  EXPECT_TRUE(hasError(withConnector("spec.statusTopic", "bridge/+"), "spec.statusTopic"));
  EXPECT_TRUE(hasError(withConnector("spec.hopMarker", "\"\""), "spec.hopMarker"));
  EXPECT_TRUE(hasError(withConnector("spec.keepAliveSeconds", "0"), "spec.keepAliveSeconds"));
  EXPECT_TRUE(
      hasError(withConnector("spec.sessionExpirySeconds", "-1"), "spec.sessionExpirySeconds"));
}

TEST(LoaderExtensions, TtlAndEmptyRoutes) {
  EXPECT_TRUE(hasError(withRoute("ttlSeconds", "0"), "spec.routes[0].ttlSeconds", "> 0"));
  const LoadResult r = withRoute("ttlSeconds", "2.5");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.config->topicMaps[0].routes[0].ttlSeconds, 2.5);
  EXPECT_TRUE(hasError(withMap("spec.routes", "[]"), "spec.routes", "at least one route"));
}

}  // namespace
}  // namespace mqb::config

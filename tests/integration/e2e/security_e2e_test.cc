// Transports and authentication through the real `mqbridge run` binary, configured the way a pod
// sees its mounts: TLS trusting a ConfigMap under --configmaps-dir, mutual TLS with an x509 Secret
// under --secrets-dir (client_cert.pem, client_key.pem, client_intermediate_certs.pem), secure
// WebSockets, a usernamePassword Secret, kubernetes SAT (--sa-token-file) against the test auth
// plugin, and the spec's connector example (managed identity + SAT) against loopback stand-ins.

#include <filesystem>

#include "tests/integration/e2e/e2e_util.h"
#include "tests/support/fake_identity_endpoint.h"
#include "tests/support/test_pki.h"

namespace mqb::test::e2e {
namespace {

namespace fs = std::filesystem;

class E2eSecurity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  static BrokerOptions tlsBroker(bool requireCert = false) {
    BrokerOptions o;
    o.tls = true;
    o.secureWebsockets = true;
    o.requireCertificate = requireCert;
    o.cafile = pki_->rootCa();
    o.certfile = pki_->serverCert();
    o.keyfile = pki_->serverKey();
    return o;
  }

  /// Puts the test root CA into the ConfigMap `name` under the bridge's --configmaps-dir.
  static void writeCaConfigMap(const BridgeRunner& bridge, const std::string& name) {
    fs::create_directories(bridge.configmapsDir() + "/" + name);
    fs::copy_file(pki_->rootCa(), bridge.configmapsDir() + "/" + name + "/ca.crt");
  }

  /// Starts the bridge with one local-to-remote route `sec/#` and checks 5 messages arrive on
  /// `reader` (connected to the remote) with exact topics, payloads and QoS.
  static void expectForwarded(BridgeRunner& bridge, const MosquittoBroker& local,
                              const Conn& remote, const Conn& localConn,
                              const TestClientOptions& reader, const std::string& name) {
    bridge.writeConfig("connector.yaml", connectorYaml(name, "v5", "\"\"", remote, localConn));
    bridge.writeConfig("topic-map.yaml",
                       topicMapYaml(name + "-map", name, R"(    - direction: local-to-remote
      name: sec
      source: sec/#
)"));
    ASSERT_TRUE(bridge.start()) << bridge.log();
    TestClient sub(reader);
    ASSERT_TRUE(sub.connect()) << sub.lastError();
    ASSERT_TRUE(sub.subscribe("sec/#", 1));
    TestClient pub(clientOf(local, "test-local-pub"));
    ASSERT_TRUE(pub.connect()) << pub.lastError();
    ASSERT_TRUE(pub.publishMany("sec/t", 5, "x"));
    ASSERT_TRUE(waitOn(sub, "sec/t", 5)) << bridge.log();
    auto got = on(sub, "sec/t");
    ASSERT_EQ(got.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(got[static_cast<std::size_t>(i)].payload, "x" + std::to_string(i));
      EXPECT_EQ(got[static_cast<std::size_t>(i)].qos, 1);
    }
    EXPECT_EQ(bridge.stop(), 0) << bridge.log();
  }

  static TestClientOptions tlsReader(const MosquittoBroker& b, bool withCert = false) {
    TestClientOptions o;
    o.uri = "ssl://127.0.0.1:" + std::to_string(b.tlsPort());
    o.clientId = "test-remote-sub";
    o.caFile = pki_->rootCa();
    if (withCert) {
      o.certFile = pki_->clientCert();
      o.keyFile = pki_->clientKey();
    }
    return o;
  }

  static TestPki* pki_;
};
TestPki* E2eSecurity::pki_ = nullptr;

TEST_F(E2eSecurity, TlsTrustingConfigMap) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  writeCaConfigMap(bridge, "remote-ca");
  Conn r{remote.endpoint("tls"), "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca"};
  expectForwarded(bridge, local, r, plain(local), tlsReader(remote), "tls");
  EXPECT_TRUE(remote.clientIdsSeen().count("sec"));
}

TEST_F(E2eSecurity, MutualTlsWithX509Secret) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker(/*requireCert=*/true));
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  writeCaConfigMap(bridge, "remote-ca");
  pki_->writeX509Secret(bridge.secretsDir() + "/bridge-client-secret");
  Conn r{remote.endpoint("tls"), "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca",
         "x509:\n  secretName: bridge-client-secret"};
  // The broker requires a certificate from everyone: the reader presents the client certificate
  // followed by its intermediate CA.
  TestClientOptions reader = tlsReader(remote, true);
  const std::string chain = bridge.dir().write(
      "reader-chain.pem", readFile(pki_->clientCert()) + readFile(pki_->intermediateCa()));
  reader.certFile = chain;
  expectForwarded(bridge, local, r, plain(local), reader, "mtls");
  EXPECT_TRUE(remote.clientIdsSeen().count("sec"));
}

TEST_F(E2eSecurity, SecureWebSockets) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  writeCaConfigMap(bridge, "remote-ca");
  Conn r{remote.endpoint("wss"), "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca",
         "anonymous: {}", "webSocket"};
  expectForwarded(bridge, local, r, plain(local), tlsReader(remote), "wss");
  // mosquitto logs websocket clients with their listener; the bridge's ID must be there.
  EXPECT_TRUE(remote.clientIdsSeen().count("sec")) << remote.logText();
}

TEST_F(E2eSecurity, UsernamePasswordSecret) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.allowAnonymous = false;
  MosquittoBroker remote(ro);
  remote.writePasswordFile("bridge-user", "s3cret-pw");
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  bridge.dir().write("secrets/remote-login/username", "bridge-user");
  bridge.dir().write("secrets/remote-login/password", "s3cret-pw");
  Conn r{remote.endpoint("tcp"), "tlsEnabled: false",
         "usernamePassword:\n  secretName: remote-login"};
  TestClientOptions reader = clientOf(remote, "test-remote-sub");
  reader.username = "bridge-user";
  reader.password = "s3cret-pw";
  expectForwarded(bridge, local, r, plain(local), reader, "userpass");
  EXPECT_TRUE(remote.clientIdsSeen().count("sec"));
  EXPECT_EQ(bridge.log().find("s3cret-pw"), std::string::npos) << "password in the log";
}

#ifdef MQB_AUTH_PLUGIN_PATH
TEST_F(E2eSecurity, KubernetesSatOnTheLocalBroker) {
  BrokerOptions lo;
  lo.plugin = MQB_AUTH_PLUGIN_PATH;
  lo.pluginOptions = {{"token", "good-sat-token"}};
  MosquittoBroker local(lo);
  MosquittoBroker remote;
  ASSERT_TRUE(local.start()) << local.logText();
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.dir().write("sa-token", "good-sat-token\n");
  Conn l{local.endpoint("tcp"), "tlsEnabled: false", "kubernetes: {}"};
  expectForwarded(bridge, local, plain(remote), l, clientOf(remote, "test-remote-sub"), "sat");
  EXPECT_NE(local.logText().find("mqb-test-auth: accepted K8S-SAT for sec"), std::string::npos)
      << local.logText();
  EXPECT_EQ(bridge.log().find("good-sat-token"), std::string::npos) << "token in the log";
}

// The spec's MqttBridgeConnector example as written, except for the two endpoints (loopback
// stand-ins for Event Grid and the IoT MQ frontend): remote TLS with the system trust store
// (SSL_CERT_FILE points OpenSSL's default store at the test CA) and systemAssignedManagedIdentity
// through a fake Arc identity endpoint (IDENTITY_ENDPOINT), sent as OAUTH2-JWT; local TLS trusting
// ConfigMap aio-ca-trust-bundle-test-only with kubernetes SAT.
TEST_F(E2eSecurity, SpecConnectorExampleWithManagedIdentity) {
  FakeIdentityEndpoint identity("fake-entra-jwt");
  BrokerOptions ro = tlsBroker();
  ro.plugin = MQB_AUTH_PLUGIN_PATH;
  ro.pluginOptions = {{"token", "fake-entra-jwt"}};
  MosquittoBroker remote(ro);
  BrokerOptions lo = tlsBroker();
  lo.plugin = MQB_AUTH_PLUGIN_PATH;
  lo.pluginOptions = {{"token", "good-sat-token"}};
  MosquittoBroker local(lo);
  ASSERT_TRUE(remote.start()) << remote.logText();
  ASSERT_TRUE(local.start()) << local.logText();

  BridgeRunnerOptions bo;
  bo.env = {"IDENTITY_ENDPOINT=" + identity.url(), "SSL_CERT_FILE=" + pki_->rootCa()};
  bo.extraArgs = {"--arc-key-dir", identity.keyDirectory()};
  BridgeRunner bridge(bo);
  writeCaConfigMap(bridge, "aio-ca-trust-bundle-test-only");
  bridge.dir().write("sa-token", "good-sat-token");
  std::string example =
      readFile(std::string(MQB_SOURCE_DIR) + "/tests/data/spec/01-connector.yaml");
  ASSERT_FALSE(example.empty());
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = example.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    example.replace(at, from.size(), to);
  };
  replace("example.westeurope-1.ts.eventgrid.azure.net:8883", remote.endpoint("tls"));
  replace("aio-mq-dmqtt-frontend:8883", local.endpoint("tls"));
  bridge.writeConfig("connector.yaml", example);
  bridge.writeConfig("topic-map.yaml", topicMapYaml("my-topic-map", "my-mqtt-bridge",
                                                    R"(    - direction: local-to-remote
      name: send-alerts
      source: alerts
      target: factory/alerts
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log() << remote.logText();
  TestClientOptions reader = tlsReader(remote);
  TestClient sub(reader);
  ASSERT_TRUE(sub.connect()) << sub.lastError();
  ASSERT_TRUE(sub.subscribe("factory/#", 1));
  TestClientOptions w;
  w.uri = "ssl://127.0.0.1:" + std::to_string(local.tlsPort());
  w.clientId = "test-local-pub";
  w.caFile = pki_->rootCa();
  TestClient pub(w);
  ASSERT_TRUE(pub.connect()) << pub.lastError();
  ASSERT_TRUE(pub.publish("alerts", "overheat", 1));
  ASSERT_TRUE(waitOn(sub, "factory/alerts", 1)) << bridge.log();
  EXPECT_EQ(payloads(on(sub, "factory/alerts")), std::vector<std::string>{"overheat"});
  EXPECT_NE(remote.logText().find("mqb-test-auth: accepted OAUTH2-JWT for "
                                  "factory-gateway-send-alerts"),
            std::string::npos)
      << remote.logText();
  EXPECT_NE(local.logText().find("mqb-test-auth: accepted K8S-SAT for "
                                 "factory-gateway-send-alerts"),
            std::string::npos);
  EXPECT_GE(identity.tokensIssued(), 1);
  ASSERT_FALSE(identity.requests().empty());
  EXPECT_NE(identity.requests().back().find("resource=https%3A%2F%2Feventgrid.azure.net"),
            std::string::npos)
      << identity.requests().back();
  EXPECT_EQ(bridge.log().find("fake-entra-jwt"), std::string::npos) << "token in the log";
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}
#endif

}  // namespace
}  // namespace mqb::test::e2e

// Transports and authentication against real brokers: TLS with a generated CA (IP and hostname
// verification), mutual TLS with an intermediate CA, a wrong CA refused then a new client with the
// right CA recovering, WebSockets and secure WebSockets, username/password from a mosquitto
// password file, and K8S-SAT enhanced authentication through the test auth plugin.

#include <filesystem>

#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/test_pki.h"

namespace mqb::test {
namespace {

class MqttSecurity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  static BrokerOptions tlsBroker(bool requireCert = false) {
    BrokerOptions o;
    o.tls = true;
    o.websockets = true;
    o.secureWebsockets = true;
    o.requireCertificate = requireCert;
    o.cafile = pki_->rootCa();
    o.certfile = pki_->serverCert();
    o.keyfile = pki_->serverKey();
    return o;
  }

  /// Local (plain) -> remote over `remoteConn`: publishes n messages, expects them on the remote.
  void expectForwarded(MosquittoBroker& local, MosquittoBroker& remote,
                       const config::BrokerConnection& remoteConn, const std::string& name,
                       int n = 10, const TestClientOptions* remoteReader = nullptr) {
    auto o = routeOptions(local, remote, "sec/#", std::nullopt, name);
    o.target = clientFor(remoteConn, cat("bridge-", name, "-pub"), config::MqttVersion::V5, false);
    DirectRoute route(std::move(o));
    route.start();
    ASSERT_TRUE(route.waitReady()) << remote.logText();
    TestClient sub(remoteReader ? *remoteReader : testClientFor(remote, "remote-reader"));
    ASSERT_TRUE(sub.connect()) << sub.lastError();
    ASSERT_TRUE(sub.subscribe("sec/#", 1));
    TestClient pub(testClientFor(local, "local-writer"));
    ASSERT_TRUE(pub.connect());
    ASSERT_TRUE(pub.publishMany("sec/t", n, "x"));
    ASSERT_TRUE(sub.waitForCount(static_cast<std::size_t>(n))) << sub.receivedCount();
    auto got = sub.received();
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(got[i].topic, "sec/t");
      EXPECT_EQ(got[i].payload, cat("x", i));
      EXPECT_EQ(got[i].qos, 1);
    }
    EXPECT_TRUE(remote.clientIdsSeen().count(cat("bridge-", name, "-pub")));
  }

  static TestPki* pki_;
};
TestPki* MqttSecurity::pki_ = nullptr;

TEST_F(MqttSecurity, TlsWithGeneratedCaByIpAndHostname) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  expectForwarded(local, remote, remote.connection("tls", pki_->rootCa()), "tls-ip");
  expectForwarded(local, remote, remote.connection("tls", pki_->rootCa(), true), "tls-name");
}

TEST_F(MqttSecurity, MutualTlsWithIntermediateCa) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker(true));
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  TempDir secrets("mqb-secrets");
  auto conn = remote.connection("tls", pki_->rootCa());
  conn.auth.kind = config::AuthSpec::Kind::X509;
  const std::string dir = pki_->writeX509Secret(secrets.file("x509"));
  conn.auth.certFile = dir + "/client_cert.pem";
  conn.auth.keyFile = dir + "/client_key.pem";
  conn.auth.intermediateFile = dir + "/client_intermediate_certs.pem";
  expectForwarded(local, remote, conn, "mtls");

  // Without the client certificate the same listener refuses the bridge.
  TestMetrics m;
  auto anon = remote.connection("tls", pki_->rootCa());
  sinks::MqttSink sink(clientFor(anon, "bridge-no-cert", config::MqttVersion::V5, false), {},
                       &m.route, &m.client);
  sink.start();
  EXPECT_TRUE(waitFor([&] { return m.connectFailures() >= 2; }));
  EXPECT_FALSE(sink.ready());
}

TEST_F(MqttSecurity, WrongCaIsRefusedThenRightCaRecovers) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  {
    auto o = routeOptions(local, remote, "sec/#", std::nullopt, "wrongca");
    o.target = clientFor(remote.connection("tls", pki_->wrongCa()), "bridge-wrongca-pub",
                         config::MqttVersion::V5, false);
    DirectRoute route(std::move(o));
    route.start();
    // Refused (certificate verify failed), retried with backoff, never connected, no crash.
    EXPECT_TRUE(waitFor([&] { return route.metrics().connectFailures() >= 3; }));
    EXPECT_FALSE(route.sinks()[0]->ready());
    EXPECT_FALSE(remote.clientIdsSeen().count("bridge-wrongca-pub"));
  }
  // The route rebuilt with the right CA (a new client) works.
  expectForwarded(local, remote, remote.connection("tls", pki_->rootCa()), "rightca");
}

TEST_F(MqttSecurity, WebSocketsAndSecureWebSockets) {
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  expectForwarded(local, remote, remote.connection("ws"), "ws");
  expectForwarded(local, remote, remote.connection("wss", pki_->rootCa(), true), "wss");
}

TEST_F(MqttSecurity, UsernamePasswordFromFilesReReadOnReconnect) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.allowAnonymous = false;
  MosquittoBroker remote(ro);
  remote.writePasswordFile("bridge", "s3cret-pw");
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  TempDir secrets("mqb-secrets");
  ::testing::internal::CaptureStderr();  // our log: secrets must never appear in it
  auto conn = remote.connection();
  conn.auth.kind = config::AuthSpec::Kind::UsernamePassword;
  conn.auth.usernameFile = secrets.write("up/username", "bridge\n");
  conn.auth.passwordFile = secrets.write("up/password", "wrong-pw\n");
  TestClientOptions reader = testClientFor(remote, "remote-reader");
  reader.username = "bridge";
  reader.password = "s3cret-pw";

  auto o = routeOptions(local, remote, "sec/#", std::nullopt, "userpass");
  o.target = clientFor(conn, "bridge-userpass-pub", config::MqttVersion::V5, false);
  DirectRoute route(std::move(o));
  route.start();
  EXPECT_TRUE(waitFor([&] { return route.metrics().connectFailures() >= 2; }));
  EXPECT_FALSE(route.sinks()[0]->ready());
  // Rotate the secret: the next reconnect reads the new password.
  secrets.write("up/password", "s3cret-pw\n");
  ASSERT_TRUE(route.waitReady(15s));
  TestClient sub(reader);
  ASSERT_TRUE(sub.connect()) << sub.lastError();
  ASSERT_TRUE(sub.subscribe("sec/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("sec/u", "hello", 1));
  ASSERT_TRUE(sub.waitForCount(1));
  EXPECT_EQ(sub.received()[0].topic, "sec/u");
  EXPECT_EQ(sub.received()[0].payload, "hello");
  route.stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("event=mqtt_connect_failed client=bridge-userpass-pub"), std::string::npos);
  EXPECT_EQ(log.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(log.find("wrong-pw"), std::string::npos);
}

#ifdef MQB_AUTH_PLUGIN_PATH
TEST_F(MqttSecurity, KubernetesServiceAccountTokenEnhancedAuth) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.plugin = MQB_AUTH_PLUGIN_PATH;
  ro.pluginOptions = {{"token", "good-sat-token"}};
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  TempDir secrets("mqb-secrets");
  ::testing::internal::CaptureStderr();
  auto conn = remote.connection();
  conn.auth.kind = config::AuthSpec::Kind::Kubernetes;
  conn.auth.tokenFile = secrets.write("tokens/mq-sat", "bad-sat-token\n");

  auto o = routeOptions(local, remote, "sec/#", std::nullopt, "sat");
  o.target = clientFor(conn, "bridge-sat-pub", config::MqttVersion::V5, false);
  DirectRoute route(std::move(o));
  route.start();
  // The wrong token reaches the broker and is refused.
  EXPECT_TRUE(waitFor([&] { return route.metrics().connectFailures() >= 2; }));
  EXPECT_FALSE(route.sinks()[0]->ready());
  EXPECT_NE(remote.logText().find("mqb-test-auth: refused K8S-SAT for bridge-sat-pub"),
            std::string::npos);
  // Token rotated: re-read at the next reconnect and accepted.
  secrets.write("tokens/mq-sat", "good-sat-token\n");
  ASSERT_TRUE(route.waitReady(15s));
  EXPECT_NE(remote.logText().find("mqb-test-auth: accepted K8S-SAT for bridge-sat-pub"),
            std::string::npos);
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("sec/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("sec/k", "via-sat", 1));
  ASSERT_TRUE(sub.waitForCount(1));
  EXPECT_EQ(sub.received()[0].payload, "via-sat");
  route.stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("reason=not_authorized"), std::string::npos);
  EXPECT_EQ(log.find("good-sat-token"), std::string::npos);
  EXPECT_EQ(log.find("bad-sat-token"), std::string::npos);
}
#endif

}  // namespace
}  // namespace mqb::test

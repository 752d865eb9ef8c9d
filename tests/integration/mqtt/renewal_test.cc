// Credentials that change while the bridge runs, and a target that stops acknowledging, against
// real mosquitto brokers: a K8S-SAT token renewed by re-authentication (accepted, and refused by
// the broker), a client certificate rotated in a mounted Secret (graceful reconnect) and then
// replaced by a key that does not match (kept out), and a remote frozen with SIGSTOP under load.
// Files change the way the kubelet changes them: a new directory, then an atomic swap of the
// `..data` symlink the file names lead through. Every case counts messages end to end: none may
// be lost at QoS 1; duplicates are reported.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/test_pki.h"

namespace mqb::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// A directory laid out like a mounted Secret or projected volume: <dir>/<name> is a symlink to
/// ..data/<name>, and ..data a symlink to the current generation's directory.
class MountedVolume {
 public:
  explicit MountedVolume(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  /// Writes a new generation holding `files` and swaps ..data to it with one rename(2).
  void update(const std::map<std::string, std::string>& files) {
    const std::string gen = "..gen" + std::to_string(++generation_);
    fs::create_directories(dir_ + "/" + gen);
    for (const auto& [name, content] : files) {
      std::FILE* f = std::fopen((dir_ + "/" + gen + "/" + name).c_str(), "wb");
      ASSERT_NE(f, nullptr);
      std::fwrite(content.data(), 1, content.size(), f);
      std::fclose(f);
    }
    fs::create_directory_symlink(gen, dir_ + "/..data_tmp");
    fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
    for (const auto& [name, content] : files) {
      if (!fs::is_symlink(dir_ + "/" + name)) {
        fs::create_symlink("..data/" + name, dir_ + "/" + name);
      }
    }
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  int generation_ = 0;
};

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

/// Connections the broker accepted from `clientId` (from its log).
std::size_t connectionsOf(const MosquittoBroker& b, const std::string& clientId) {
  return occurrences(b.logText(), " as " + clientId + " (");
}

/// `sat.<unix time in s seconds>`: a token the test auth plugin accepts until then.
std::string tokenValidFor(int seconds) {
  return "sat." + std::to_string(std::time(nullptr) + seconds);
}

/// Publishes "m0".."m<n-1>" to `topic` on `local` in steps of 20, calling `during(i)` before each
/// step, then waits for all of them on `reader`. Returns the duplicates the reader received and
/// fails the test if any message is missing.
std::size_t forwardCounting(MosquittoBroker& local, TestClient& reader, int n,
                            const std::function<void(int)>& during) {
  TestClient pub(testClientFor(local, "local-writer"));
  EXPECT_TRUE(pub.connect());
  for (int i = 0; i < n; i += 20) {
    during(i);
    EXPECT_TRUE(pub.publishMany("renew/t", 20, "m", 1, std::chrono::seconds(20), i));
  }
  std::set<std::string> unique;
  const bool all = waitFor(
      [&] {
        unique.clear();
        for (const auto& m : reader.received()) {
          unique.insert(m.payload);
        }
        return unique.size() >= static_cast<std::size_t>(n);
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(all) << unique.size() << " of " << n << " messages arrived";
  const std::size_t dups = reader.receivedCount() - unique.size();
  std::printf("[ figures  ] %d sent, %zu received once, %zu duplicates\n", n, unique.size(), dups);
  return dups;
}

#ifdef MQB_AUTH_PLUGIN_PATH
class Reauthentication : public ::testing::TestWithParam<bool> {};

// GetParam(): whether the broker refuses re-authentication. Accepted: the renewed token goes by
// AUTH 0x19 on the same connection, before the first one expires (the plugin disconnects
// clients whose token expired). Refused: the bridge reconnects at once with the new token.
TEST_P(Reauthentication, RenewedTokenReachesTheBrokerWithoutLoss) {
  const bool refuse = GetParam();
  MosquittoBroker local;
  BrokerOptions ro;
  ro.plugin = MQB_AUTH_PLUGIN_PATH;
  ro.pluginOptions = {{"token", "sat"}};
  if (refuse) {
    ro.pluginOptions.emplace_back("reauth", "refuse");
  }
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  TempDir tmp("mqb-renew");
  MountedVolume tokens(tmp.path() + "/tokens");
  // Accepted: the first token expires soon after the renewal, so the broker would disconnect a
  // bridge that did not renew it. Refused: long enough that only the renewal matters.
  const int firstLifetime = refuse ? 60 : 5;
  tokens.update({{"token", tokenValidFor(firstLifetime) + "\n"}});
  auto conn = remote.connection();
  conn.auth.kind = config::AuthSpec::Kind::Kubernetes;
  conn.auth.tokenFile = tokens.path("token");
  const std::string id = refuse ? "bridge-refused-pub" : "bridge-reauth-pub";
  auto o = routeOptions(local, remote, "renew/#", std::nullopt, refuse ? "refused" : "reauth");
  o.target = clientFor(conn, id, config::MqttVersion::V5, false);
  o.target.credentialCheckInterval = std::chrono::milliseconds(100);
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady()) << remote.logText();
  TestClient reader(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(reader.connect());
  ASSERT_TRUE(reader.subscribe("renew/#", 1));

  const auto expiry = std::chrono::system_clock::now() + std::chrono::seconds(firstLifetime);
  forwardCounting(local, reader, 400, [&](int i) {
    if (i == 20) {
      tokens.update({{"token", tokenValidFor(600) + "\n"}});
    }
  });
  const std::string what = refuse ? "refused re-authentication K8S-SAT for " + id
                                  : "accepted re-authentication K8S-SAT for " + id;
  ASSERT_TRUE(waitFor([&] { return remote.logText().find(what) != std::string::npos; }))
      << remote.logText();
  const auto reauth = route.metrics().client.reauthentications;
  EXPECT_TRUE(waitFor([&] { return reauth[refuse ? 1 : 0]->Value() == 1; }));
  if (refuse) {
    EXPECT_TRUE(waitFor([&] { return connectionsOf(remote, id) == 2; })) << remote.logText();
  } else {
    // Past the first token's expiry the connection is still the first one: the broker holds the
    // renewed token for it.
    ASSERT_TRUE(waitFor([&] { return std::chrono::system_clock::now() > expiry + 1500ms; }));
    TestClient pub(testClientFor(local, "late-writer"));
    ASSERT_TRUE(pub.connect());
    ASSERT_TRUE(pub.publish("renew/late", "after-expiry", 1));
    ASSERT_TRUE(waitFor([&] { return reader.receivedCount() >= 401; }));
    EXPECT_EQ(connectionsOf(remote, id), 1u) << remote.logText();
    EXPECT_EQ(occurrences(remote.logText(), "token expired for " + id), 0u);
  }
  EXPECT_EQ(remote.logText().find("sat."), std::string::npos);  // the token is never logged
  route.stop();
}

INSTANTIATE_TEST_SUITE_P(Broker, Reauthentication, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Refused" : "Accepted"; });
#endif

TEST(CredentialRotation, RotatedClientCertificateTakenByGracefulReconnectBrokenOneKeptOut) {
  TestPki pki;
  pki.issueClient("renewed", "mqb-bridge-client");
  BrokerOptions ro;
  ro.tls = true;
  ro.requireCertificate = true;
  ro.cafile = pki.rootCa();
  ro.certfile = pki.serverCert();
  ro.keyfile = pki.serverKey();
  MosquittoBroker local;
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  TempDir tmp("mqb-rotate");
  MountedVolume secret(tmp.path() + "/x509");
  const std::string intermediate = readFile(pki.intermediateCa());
  secret.update({{"client_cert.pem", readFile(pki.clientCert())},
                 {"client_key.pem", readFile(pki.clientKey())},
                 {"client_intermediate_certs.pem", intermediate}});
  auto conn = remote.connection("tls", pki.rootCa());
  conn.auth.kind = config::AuthSpec::Kind::X509;
  conn.auth.certFile = secret.path("client_cert.pem");
  conn.auth.keyFile = secret.path("client_key.pem");
  conn.auth.intermediateFile = secret.path("client_intermediate_certs.pem");
  const std::string id = "bridge-rotate-pub";
  auto o = routeOptions(local, remote, "renew/#", std::nullopt, "rotate");
  o.target = clientFor(conn, id, config::MqttVersion::V5, false);
  o.target.credentialCheckInterval = std::chrono::milliseconds(100);
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady()) << remote.logText();
  TestClient reader(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(reader.connect()) << reader.lastError();
  ASSERT_TRUE(reader.subscribe("renew/#", 1));
  const auto& reloads = route.metrics().client.credentialReloads;

  // Renewed certificate and key: taken by a graceful reconnect while messages flow.
  forwardCounting(local, reader, 400, [&](int i) {
    if (i == 100) {
      secret.update({{"client_cert.pem", readFile(pki.dir() + "/renewed.pem")},
                     {"client_key.pem", readFile(pki.dir() + "/renewed.key")},
                     {"client_intermediate_certs.pem", intermediate}});
    }
  });
  EXPECT_TRUE(waitFor([&] { return reloads[0]->Value() == 1; }));
  EXPECT_TRUE(waitFor([&] { return connectionsOf(remote, id) == 2; })) << remote.logText();

  // A key that does not match its certificate: reported, the connection keeps the old material.
  secret.update({{"client_cert.pem", readFile(pki.dir() + "/renewed.pem")},
                 {"client_key.pem", readFile(pki.clientKey())},
                 {"client_intermediate_certs.pem", intermediate}});
  ASSERT_TRUE(waitFor([&] { return reloads[1]->Value() == 1; }));
  reader.clearReceived();
  forwardCounting(local, reader, 40, [](int) {});
  EXPECT_EQ(connectionsOf(remote, id), 2u) << remote.logText();
  EXPECT_EQ(reloads[1]->Value(), 1);  // reported once, not at every check
  route.stop();
}

TEST(StalledTarget, FrozenRemoteIsLeftAfterTheAckTimeoutAndEverythingArrives) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  const std::string id = "bridge-stall-pub";
  auto o = routeOptions(local, remote, "renew/#", std::nullopt, "stall");
  o.target.ackTimeout = std::chrono::milliseconds(500);
  o.target.connectTimeout = std::chrono::seconds(1);
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient reader(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(reader.connect());
  ASSERT_TRUE(reader.subscribe("renew/#", 1));
  const auto& failures = route.metrics().client.failures;
  const auto ackTimeouts = failures[static_cast<std::size_t>(metrics::ConnectFailure::AckTimeout)];
  Clock::time_point frozenAt;
  Clock::duration frozenFor{};
  const std::size_t dups = forwardCounting(local, reader, 300, [&](int i) {
    if (i == 100) {
      remote.pause();
      frozenAt = Clock::now();
    }
    if (i == 120) {  // publishes are outstanding: the bridge gives up on the frozen connection
      ASSERT_TRUE(waitFor([&] { return ackTimeouts->Value() >= 1; }, std::chrono::seconds(10)));
      remote.resume();
      frozenFor = Clock::now() - frozenAt;
    }
  });
  std::printf("[ figures  ] remote frozen for %lld ms, ack timeouts %g, duplicates %zu\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(frozenFor).count()),
              ackTimeouts->Value(), dups);
  EXPECT_GE(connectionsOf(remote, id), 2u);
  route.stop();
}

}  // namespace
}  // namespace mqb::test

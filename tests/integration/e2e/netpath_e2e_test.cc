// Network paths with real parts on loopback: tinyproxy (HTTP CONNECT with Basic authentication)
// in front of a TLS and a WebSocket remote, configured per connection and from HTTPS_PROXY; a
// SOCKS5 relay of the test suite's (tests/support/socks5_proxy.py) in front of a TLS remote;
// haproxy as a TLS front that routes on ALPN to mosquitto; and a remote endpoint list whose first
// broker is stopped and later started again while messages flow. Each forwarding case counts
// messages end to end (lost, duplicated) and prints them; the failover case also prints the
// longest time without forwarding while failing over and while returning.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "mqtt/client.h"
#include "tests/integration/e2e/e2e_util.h"
#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/child_process.h"
#include "tests/support/test_pki.h"

namespace mqb::test::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Is something listening on 127.0.0.1:port?
bool listening(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

/// A daemon of the test (tinyproxy, haproxy) in the foreground on a free port.
class Daemon {
 public:
  Daemon(const std::string& program, std::vector<std::string> args, int port, std::string log)
      : proc_(program, std::move(args), std::move(log)), port_(port) {}
  ~Daemon() {
    proc_.signal(SIGTERM);
    proc_.wait(3s);
  }
  bool start() {
    return proc_.start() && waitFor([&] { return listening(port_); }, 10s);
  }
  std::string log() const { return proc_.logText(); }

 private:
  ChildProcess proc_;
  int port_;
};

/// tinyproxy on a free loopback port with Basic authentication user:secret.
struct Tinyproxy {
  TempDir dir{"mqb-tinyproxy"};
  int port = freePort();
  std::unique_ptr<Daemon> daemon;
  bool start() {
    const std::string conf = dir.write(
        "tinyproxy.conf",
        cat("Port ", port,
            "\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nAllow 127.0.0.1\n"
            "BasicAuth proxy-user pr0xy-s3cret\nLogLevel Info\nLogFile \"",
            dir.file("tinyproxy.log"), "\"\nPidFile \"", dir.file("tinyproxy.pid"), "\"\n"));
    daemon =
        std::make_unique<Daemon>("/usr/bin/tinyproxy", std::vector<std::string>{"-d", "-c", conf},
                                 port, dir.file("stdout.log"));
    return daemon->start();
  }
  std::string log() const { return readFile(dir.file("tinyproxy.log")); }
  /// Tunnels tinyproxy opened (its log line per CONNECT).
  std::size_t tunnels() const {
    std::size_t n = 0;
    const std::string l = log();
    for (auto at = l.find("CONNECT "); at != std::string::npos; at = l.find("CONNECT ", at + 1)) {
      ++n;
    }
    return n;
  }
};

/// Counts of one run: every payload "<prefix><i>" for i < sent is expected once.
struct Count {
  std::size_t sent = 0;
  std::size_t lost = 0;
  std::size_t duplicated = 0;
};

Count countOf(const std::vector<const TestClient*>& readers, const std::string& topic,
              std::size_t sent) {
  std::map<std::string, int> seen;
  for (const auto* r : readers) {
    for (const auto& m : on(*r, topic)) {
      ++seen[m.payload];
    }
  }
  Count c;
  c.sent = sent;
  for (std::size_t i = 0; i < sent; ++i) {
    const auto it = seen.find(cat("m", static_cast<int>(i)));
    if (it == seen.end()) {
      ++c.lost;
    } else {
      c.duplicated += static_cast<std::size_t>(it->second - 1);
    }
  }
  return c;
}

void report(const std::string& name, const Count& c, const std::string& more = "") {
  std::printf("[netpath] %s: sent %zu, lost %zu, duplicated %zu%s\n", name.c_str(), c.sent, c.lost,
              c.duplicated, more.c_str());
}

class E2eNetpath : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    for (const char* p : {"/usr/bin/tinyproxy", "/usr/sbin/haproxy"}) {
      if (!fs::exists(p)) {
        GTEST_SKIP() << p << " is not installed (scripts/install-deps)";
      }
    }
  }
  static BrokerOptions tlsBroker() {
    BrokerOptions o;
    o.tls = true;
    o.websockets = true;
    o.cafile = pki_->rootCa();
    o.certfile = pki_->serverCert();
    o.keyfile = pki_->serverKey();
    return o;
  }
  static void writeCa(const BridgeRunner& bridge) {
    fs::create_directories(bridge.configmapsDir() + "/remote-ca");
    fs::copy_file(pki_->rootCa(), bridge.configmapsDir() + "/remote-ca/ca.crt",
                  fs::copy_options::overwrite_existing);
  }
  /// Starts the bridge with a local-to-remote route np/# and forwards `n` QoS 1 messages from
  /// `local` to `reader`; returns the counts.
  static Count forward(BridgeRunner& bridge, const MosquittoBroker& local, const Conn& remote,
                       const TestClientOptions& reader, std::size_t n) {
    bridge.writeConfig("connector.yaml", connectorYaml("np", "v5", "\"\"", remote, plain(local)));
    bridge.writeConfig("topic-map.yaml",
                       topicMapYaml("np-map", "np", R"(    - direction: local-to-remote
      name: np
      source: np/#
)"));
    EXPECT_TRUE(bridge.start()) << bridge.log();
    TestClient sub(reader);
    EXPECT_TRUE(sub.connect()) << sub.lastError();
    EXPECT_TRUE(sub.subscribe("np/#", 1));
    TestClient pub(clientOf(local, "test-local-pub"));
    EXPECT_TRUE(pub.connect()) << pub.lastError();
    EXPECT_TRUE(pub.publishMany("np/t", static_cast<int>(n), "m"));
    waitOn(sub, "np/t", n);
    // A last message on the same route: it arrives after any duplicate of the ones before it
    // (one route, one connection, in order), so the count below is final.
    EXPECT_TRUE(pub.publish("np/end", "end", 1));
    EXPECT_TRUE(waitOn(sub, "np/end", 1));
    return countOf({&sub}, "np/t", n);
  }
  static TestPki* pki_;
};
TestPki* E2eNetpath::pki_ = nullptr;

TEST_F(E2eNetpath, TlsThroughConfiguredProxyWithBasicAuth) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  writeCa(bridge);
  bridge.dir().write("secrets/proxy-login/username", "proxy-user\n");
  bridge.dir().write("secrets/proxy-login/password", "pr0xy-s3cret\n");
  // "localhost": TLS checks the broker's name through the tunnel (the proxy resolves it).
  Conn r{cat("localhost:", remote.tlsPort()),
         "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca"};
  r.extra = cat("proxy:\n  url: http://127.0.0.1:", proxy.port, "\n  secretName: proxy-login\n");
  TestClientOptions reader = clientOf(remote, "test-remote-sub");
  const Count c = forward(bridge, local, r, reader, 200);
  report("tls via tinyproxy (proxy.url + secretName)", c);
  EXPECT_EQ(c.lost, 0u) << bridge.log();
  EXPECT_GE(proxy.tunnels(), 1u) << proxy.log();
  std::string plan;
  plan = bridge.validate();
  EXPECT_NE(plan.find(cat("path: via proxy http://127.0.0.1:", proxy.port,
                          " with credentials from Secret proxy-login")),
            std::string::npos)
      << plan;
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
  EXPECT_EQ(bridge.log().find("pr0xy-s3cret"), std::string::npos) << "proxy password in the log";
}

TEST_F(E2eNetpath, WebSocketThroughProxyFromTheEnvironment) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();
  BridgeRunner bridge;
  bridge.options().env = {cat("HTTPS_PROXY=http://proxy-user:pr0xy-s3cret@127.0.0.1:", proxy.port),
                          "NO_PROXY=example.invalid"};
  Conn r{remote.endpoint("ws"), "tlsEnabled: false", "anonymous: {}", "webSocket"};
  const Count c = forward(bridge, local, r, clientOf(remote, "test-remote-sub"), 100);
  report("ws via tinyproxy (HTTPS_PROXY with user info)", c);
  EXPECT_EQ(c.lost, 0u) << bridge.log();
  EXPECT_GE(proxy.tunnels(), 1u) << proxy.log();
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
  EXPECT_EQ(bridge.log().find("pr0xy-s3cret"), std::string::npos) << "proxy password in the log";
}

/// The first connect failure of a client of `remote` through `proxy` with user:password.
mqtt::Failure firstFailure(const MosquittoBroker& remote, mqtt::Proxy::Kind kind, int proxyPort,
                           const std::string& user, const std::string& password) {
  mqtt::ClientOptions o;
  o.clientId = "np-refused";
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = static_cast<std::uint16_t>(remote.port());
  o.endpoint.proxy.kind = kind;
  o.endpoint.proxy.host = "127.0.0.1";
  o.endpoint.proxy.port = static_cast<std::uint16_t>(proxyPort);
  o.endpoint.proxy.username = user;
  o.endpoint.proxy.password = password;
  o.minRetry = 100ms;
  o.connectTimeout = 3s;
  struct Obs : mqtt::ClientObserver {
    std::mutex mu;
    std::optional<mqtt::Failure> first;
    void onConnectFailed(const mqtt::Failure& f) noexcept override {
      std::lock_guard<std::mutex> lk(mu);
      if (!first) {
        first = f;
      }
    }
    bool failed() {
      std::lock_guard<std::mutex> lk(mu);
      return first.has_value();
    }
  } obs;
  mqtt::Client client(o, nullptr, &obs);
  EXPECT_TRUE(client.start());
  EXPECT_TRUE(waitFor([&] { return obs.failed(); }, 5s));
  client.stop();
  return obs.first.value_or(mqtt::Failure{});
}

TEST_F(E2eNetpath, ProxyRefusalIsAClearFailure) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  MosquittoBroker remote;
  ASSERT_TRUE(remote.start());
  // Wrong password: refused (tinyproxy answers 401 where RFC 9110 has 407), reason proxy_refused,
  // the password nowhere in the detail.
  const mqtt::Failure f = firstFailure(remote, mqtt::Proxy::Kind::HttpConnect, proxy.port,
                                       "proxy-user", "wrong-s3cret");
  EXPECT_EQ(f.cause, mqtt::Cause::ProxyRefused) << f.detail;
  EXPECT_NE(f.detail.find("proxy authentication required or refused"), std::string::npos)
      << f.detail;
  EXPECT_EQ(f.detail.find("wrong-s3cret"), std::string::npos) << f.detail;
  std::printf("[netpath] wrong proxy password: %s: %s\n", mqtt::reasonOf(f).c_str(),
              f.detail.c_str());
}

TEST_F(E2eNetpath, TlsThroughSocks5WithUsernamePassword) {
  TempDir dir{"mqb-socks"};
  ChildProcess socks("/usr/bin/python3",
                     {MQB_SOURCE_DIR "/tests/support/socks5_proxy.py", "--port-file",
                      dir.file("port"), "--user", "socks-user", "--password", "s0cks-s3cret"},
                     dir.file("socks.log"));
  ASSERT_TRUE(socks.start());
  ASSERT_TRUE(waitFor([&] { return !readFile(dir.file("port")).empty(); }, 10s));
  const int port = std::stoi(readFile(dir.file("port")));
  MosquittoBroker local;
  MosquittoBroker remote(tlsBroker());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();

  const mqtt::Failure f =
      firstFailure(remote, mqtt::Proxy::Kind::Socks5, port, "socks-user", "wrong");
  EXPECT_EQ(f.cause, mqtt::Cause::ProxyRefused) << f.detail;

  BridgeRunner bridge;
  writeCa(bridge);
  bridge.dir().write("secrets/socks-login/username", "socks-user");
  bridge.dir().write("secrets/socks-login/password", "s0cks-s3cret");
  Conn r{cat("localhost:", remote.tlsPort()),
         "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca"};
  r.extra = cat("proxy:\n  url: socks5://127.0.0.1:", port, "\n  secretName: socks-login\n");
  const Count c = forward(bridge, local, r, clientOf(remote, "test-remote-sub"), 200);
  report("tls via SOCKS5 (RFC 1929 auth)", c);
  EXPECT_EQ(c.lost, 0u) << bridge.log();
  EXPECT_NE(socks.logText().find(cat("connect localhost:", remote.tlsPort(), " ok")),
            std::string::npos)
      << socks.logText();
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

TEST_F(E2eNetpath, AlpnThroughHaproxyTlsFront) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  TempDir dir{"mqb-haproxy"};
  const std::string pem =
      dir.write("front.pem", readFile(pki_->serverCert()) + readFile(pki_->serverKey()));
  const int port = freePort();
  // TLS front on one port: ALPN "mqtt" goes to mosquitto, anything else is closed.
  const std::string cfg = dir.write(
      "haproxy.cfg",
      cat("global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 2s\n"
          "  timeout client 30s\n  timeout server 30s\nfrontend tls443\n  bind 127.0.0.1:",
          port, " ssl crt ", pem,
          " alpn mqtt,http/1.1\n  use_backend mosquitto if { ssl_fc_alpn -i mqtt }\n"
          "backend mosquitto\n  server m 127.0.0.1:",
          remote.port(), "\n"));
  Daemon haproxy("/usr/sbin/haproxy", {"-db", "-f", cfg}, port, dir.file("haproxy.log"));
  ASSERT_TRUE(haproxy.start()) << haproxy.log();

  BridgeRunner bridge;
  writeCa(bridge);
  Conn r{cat("localhost:", port),
         "tlsEnabled: true\ntrustedCaCertificateConfigMap: remote-ca\nalpn: [mqtt]"};
  const Count c = forward(bridge, local, r, clientOf(remote, "test-remote-sub"), 200);
  report("tls with ALPN mqtt through haproxy", c);
  EXPECT_EQ(c.lost, 0u) << bridge.log();
  EXPECT_NE(bridge.validate().find("ALPN: mqtt"), std::string::npos);
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();

  // Without ALPN the front has no backend for the connection: no CONNACK ever comes.
  mqtt::ClientOptions o;
  o.clientId = "np-no-alpn";
  o.endpoint.host = "localhost";
  o.endpoint.port = static_cast<std::uint16_t>(port);
  o.endpoint.tls = true;
  o.endpoint.caFiles = {pki_->rootCa()};
  o.connectTimeout = 2s;
  mqtt::Client plainTls(o, nullptr);
  ASSERT_TRUE(plainTls.start());
  EXPECT_FALSE(waitFor([&] { return plainTls.connected(); }, 1500ms));
  plainTls.stop();
  o.endpoint.alpn = {"mqtt"};
  o.clientId = "np-alpn";
  mqtt::Client withAlpn(o, nullptr);
  ASSERT_TRUE(withAlpn.start());
  EXPECT_TRUE(waitFor([&] { return withAlpn.connected(); }, 5s));
  withAlpn.stop();
}

}  // namespace
}  // namespace mqb::test::e2e

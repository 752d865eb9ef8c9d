// The MQTT client's byte transport (mqtt/wire/transport.h) against real mosquitto
// brokers: a hand-built MQTT 3.1.1 CONNECT gets its CONNACK over tcp, tls (by IP and by name), ws,
// wss and mutual TLS with an intermediate CA; a 300 KiB publish round-trips through ws/wss (frame
// reassembly, 64-bit lengths, partial writes); every connect failure maps to its reason (wrong CA,
// hostname/IP mismatch, missing client certificate, nothing listening, deadline, abort, bad
// files). A scripted loopback WebSocket server covers what mosquitto never sends: pings,
// fragmented messages, frames glued to the 101 response, close frames, bad upgrade answers, and
// the bracketed IPv6 Host header.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mqtt/wire/transport.h"
#include "mqtt/wire/websocket.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;
using mqtt::wire::ConnectError;
using mqtt::wire::connectTransport;
using mqtt::wire::Transport;
using mqtt::wire::TransportOptions;
using Io = Transport::Io;
using Clock = std::chrono::steady_clock;

const std::string kConnack("\x20\x02\x00\x00", 4);

// --- MQTT 3.1.1 packets, built by hand ------------------------------------------------------

void appendLength(std::string& out, std::size_t n) {
  do {
    auto b = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n > 0) {
      b |= 0x80;
    }
    out.push_back(static_cast<char>(b));
  } while (n > 0);
}

std::string mqttString(const std::string& s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xFF));
  return out + s;
}

std::string packet(unsigned char type, const std::string& body) {
  std::string out(1, static_cast<char>(type));
  appendLength(out, body.size());
  return out + body;
}

/// CONNECT v3.1.1, clean session, keep-alive 60 s.
std::string connectPacket(const std::string& clientId) {
  return packet(0x10, std::string("\x00\x04MQTT\x04\x02\x00\x3C", 10) + mqttString(clientId));
}

/// SUBSCRIBE packet id 1, one filter at QoS 0.
std::string subscribePacket(const std::string& topic) {
  return packet(0x82, std::string("\x00\x01", 2) + mqttString(topic) + std::string(1, '\0'));
}
const std::string kSuback("\x90\x03\x00\x01\x00", 5);

/// PUBLISH QoS 0, no retain.
std::string publishPacket(const std::string& topic, const std::string& payload) {
  return packet(0x30, mqttString(topic) + payload);
}

// --- Driving a transport --------------------------------------------------------------------

/// Queues `out`, then drives `t` like a client loop (flush, read until WouldBlock, poll for
/// pollEvents()) until `in` holds at least `want` bytes and all output is written. Returns Ok
/// then, WouldBlock on timeout, Closed/Error as the transport reported.
Io pump(Transport& t, std::string out, std::string& in, std::size_t want,
        std::chrono::milliseconds timeout = 10s) {
  t.queue(out);
  EXPECT_TRUE(out.empty()) << "queue() must take the data";
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (t.hasPendingOutput()) {
      const Io r = t.flush();
      if (r == Io::Closed || r == Io::Error) {
        return r;
      }
    }
    for (;;) {
      const Io r = t.read(in);
      if (r == Io::WouldBlock) {
        break;
      }
      if (r != Io::Ok) {
        return r;
      }
    }
    if (in.size() >= want && !t.hasPendingOutput()) {
      return Io::Ok;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return Io::WouldBlock;
    }
    pollfd p{t.fd(), t.pollEvents(), 0};
    ::poll(&p, 1,
           static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count()));
  }
}

std::string describe(Io io) {
  switch (io) {
    case Io::Ok:
      return "Ok";
    case Io::WouldBlock:
      return "WouldBlock (timeout)";
    case Io::Closed:
      return "Closed";
    case Io::Error:
      return "Error";
  }
  return "?";
}

/// A plain loopback listen socket that never accepts or answers (connects complete in the
/// kernel's backlog; TLS/HTTP then hears nothing).
class SilentServer {
 public:
  explicit SilentServer(int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin6_port);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
    ok_ = ok_ && ::listen(fd_, 8) == 0;
  }
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  std::uint16_t port() const { return static_cast<std::uint16_t>(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
};

/// Waits (bounded) until `fd` is readable.
bool readable(int fd, std::chrono::milliseconds timeout = 10s) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

/// A scripted WebSocket server on one loopback connection: reads the upgrade request, writes
/// `respond(request)` in one go, then records everything the client sends until EOF.
class FakeWsServer {
 public:
  FakeWsServer(std::function<std::string(const std::string&)> respond, int family = AF_INET)
      : listener_(family), respond_(std::move(respond)) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeWsServer() { join(); }
  FakeWsServer(const FakeWsServer&) = delete;
  FakeWsServer& operator=(const FakeWsServer&) = delete;
  bool ok() const { return listener_.ok(); }
  std::uint16_t port() const { return listener_.port(); }
  /// Waits for the connection to end; then request() and received() are final. An empty
  /// `respond` result closes the connection without answering.
  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  const std::string& request() const { return request_; }
  const std::string& received() const { return received_; }

 private:
  void run() {
    if (!readable(listener_.fd())) {
      return;
    }
    const int c = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      return;
    }
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos && readable(c)) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      request_.append(buf, static_cast<std::size_t>(n));
    }
    const std::string reply = respond_(request_);
    if (reply.empty()) {  // scripted hang-up
      ::close(c);
      return;
    }
    ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    while (readable(c)) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      received_.append(buf, static_cast<std::size_t>(n));
    }
    ::close(c);
  }

  SilentServer listener_;
  std::function<std::string(const std::string&)> respond_;
  std::string request_, received_;
  std::thread thread_;
};

/// "HTTP/1.1 101" with the right Sec-WebSocket-Accept for the request's key.
std::string switchingProtocols(const std::string& request) {
  const std::string tag = "Sec-WebSocket-Key: ";
  const auto at = request.find(tag);
  const auto eol = request.find("\r\n", at);
  const std::string key =
      at == std::string::npos ? "" : request.substr(at + tag.size(), eol - at - tag.size());
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         mqtt::wire::websocketAccept(key) + "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
}

/// An unmasked server frame.
std::string serverFrame(unsigned char b0, const std::string& payload) {
  std::string f(1, static_cast<char>(b0));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  return f + payload;
}

/// A client frame as the server sees it (unmasked), or parse failure.
struct ClientFrame {
  unsigned char b0 = 0;
  bool masked = false;
  std::string payload;
};

/// Splits the client's bytes into frames (false if they are not well-formed).
bool parseClientFrames(const std::string& bytes, std::vector<ClientFrame>& out) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (bytes.size() - i < 2) {
      return false;
    }
    ClientFrame f;
    f.b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    f.masked = (b1 & 0x80) != 0;
    std::uint64_t len = b1 & 0x7F;
    i += 2;
    const std::size_t extra = len == 126 ? 2 : (len == 127 ? 8 : 0);
    if (extra > 0) {
      if (bytes.size() - i < extra) {
        return false;
      }
      len = 0;
      for (std::size_t k = 0; k < extra; ++k) {
        len = (len << 8) | static_cast<unsigned char>(bytes[i + k]);
      }
      i += extra;
    }
    unsigned char key[4] = {0, 0, 0, 0};
    if (f.masked) {
      if (bytes.size() - i < 4) {
        return false;
      }
      for (int k = 0; k < 4; ++k) {
        key[k] = static_cast<unsigned char>(bytes[i + static_cast<std::size_t>(k)]);
      }
      i += 4;
    }
    if (bytes.size() - i < len) {
      return false;
    }
    for (std::size_t k = 0; k < len; ++k) {
      f.payload.push_back(static_cast<char>(static_cast<unsigned char>(bytes[i + k]) ^ key[k & 3]));
    }
    i += len;
    out.push_back(std::move(f));
  }
  return true;
}

// --- The fixture ------------------------------------------------------------------------------

class WireTransport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    BrokerOptions o;
    o.tls = true;
    o.websockets = true;
    o.secureWebsockets = true;
    o.cafile = pki_->rootCa();
    o.certfile = pki_->serverCert();
    o.keyfile = pki_->serverKey();
    broker_ = new MosquittoBroker(o);
    brokerUp_ = broker_->start();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(brokerUp_) << broker_->logText(); }

  static BrokerOptions mtlsOptions() {
    BrokerOptions o;
    o.tls = true;
    o.secureWebsockets = true;
    o.requireCertificate = true;
    o.cafile = pki_->rootCa();
    o.certfile = pki_->serverCert();
    o.keyfile = pki_->serverKey();
    return o;
  }

  static TransportOptions options(const std::string& host, int port, bool tls, bool ws) {
    TransportOptions o;
    o.host = host;
    o.port = static_cast<std::uint16_t>(port);
    o.tls = tls;
    o.websocket = ws;
    if (tls) {
      o.caFiles = {pki_->rootCa()};
    }
    return o;
  }

  static std::unique_ptr<Transport> connectOk(const TransportOptions& o) {
    ConnectError err;
    auto t = connectTransport(o, Clock::now() + 10s, -1, err);
    EXPECT_NE(t, nullptr) << mqtt::name(err.cause) << ": " << err.detail;
    EXPECT_TRUE(err.detail.empty()) << err.detail;
    return t;
  }

  static ConnectError connectFails(const TransportOptions& o,
                                   std::chrono::milliseconds timeout = 10s, int abortFd = -1) {
    ConnectError err;
    auto t = connectTransport(o, Clock::now() + timeout, abortFd, err);
    EXPECT_EQ(t, nullptr) << "connected unexpectedly";
    EXPECT_FALSE(err.detail.empty());
    return err;
  }

  /// CONNECT -> exactly CONNACK (accepted); the broker saw the client id.
  static void expectConnack(Transport& t, const std::string& clientId) {
    std::string in;
    const Io r = pump(t, connectPacket(clientId), in, kConnack.size());
    ASSERT_EQ(r, Io::Ok) << describe(r) << ": " << t.error();
    EXPECT_EQ(in, kConnack);
    EXPECT_TRUE(broker_->clientIdsSeen().count(clientId)) << broker_->logText();
  }

  /// CONNECT, SUBSCRIBE, then a 300 KiB PUBLISH to ourselves that must come back byte-exact.
  static void expectLargeRoundTrip(const TransportOptions& o, const std::string& clientId) {
    auto t = connectOk(o);
    ASSERT_NE(t, nullptr);
    std::string in;
    ASSERT_EQ(pump(*t, connectPacket(clientId), in, 4), Io::Ok) << t->error();
    ASSERT_EQ(in, kConnack);
    in.clear();
    const std::string topic = "wire/" + clientId;
    ASSERT_EQ(pump(*t, subscribePacket(topic), in, kSuback.size()), Io::Ok) << t->error();
    ASSERT_EQ(in, kSuback);
    in.clear();
    std::string payload(300 * 1024, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
      payload[i] = static_cast<char>((i * 131 + (i >> 9)) & 0xFF);
    }
    const std::string pub = publishPacket(topic, payload);
    // mosquitto 2.0.11 (libwebsockets) sends ws/wss in 4 KiB steps every 100 ms: ~7.5 s here.
    const Io r = pump(*t, pub, in, pub.size(), 30s);
    ASSERT_EQ(r, Io::Ok) << describe(r) << ": " << t->error() << " (got " << in.size() << " of "
                         << pub.size() << " bytes)";
    ASSERT_EQ(in.size(), pub.size());
    EXPECT_TRUE(in == pub) << "payload corrupted";
    t->shutdown();
  }

  static TestPki* pki_;
  static MosquittoBroker* broker_;
  static bool brokerUp_;
};
TestPki* WireTransport::pki_ = nullptr;
MosquittoBroker* WireTransport::broker_ = nullptr;
bool WireTransport::brokerUp_ = false;

// --- Successful connects ----------------------------------------------------------------------

TEST_F(WireTransport, TcpConnack) {
  auto t = connectOk(options("127.0.0.1", broker_->port(), false, false));
  ASSERT_NE(t, nullptr);
  EXPECT_NE(::fcntl(t->fd(), F_GETFL) & O_NONBLOCK, 0) << "socket must be non-blocking";
  EXPECT_EQ(t->pollEvents(), POLLIN);
  EXPECT_FALSE(t->hasPendingOutput());
  std::string in;
  EXPECT_EQ(t->read(in), Io::WouldBlock);  // nothing sent yet, nothing to read
  EXPECT_TRUE(in.empty());
  expectConnack(*t, "wire-tcp");
  t->shutdown();
  t.reset();
  EXPECT_TRUE(waitFor([] { return broker_->clientIdsConnected().count("wire-tcp") == 0; }));
}

TEST_F(WireTransport, TlsConnackByIpAndHostname) {
  auto byIp = connectOk(options("127.0.0.1", broker_->tlsPort(), true, false));
  ASSERT_NE(byIp, nullptr);
  expectConnack(*byIp, "wire-tls-ip");
  auto byName = connectOk(options("localhost", broker_->tlsPort(), true, false));
  ASSERT_NE(byName, nullptr);
  expectConnack(*byName, "wire-tls-name");
}

TEST_F(WireTransport, WebSocketConnack) {
  auto t = connectOk(options("127.0.0.1", broker_->wsPort(), false, true));
  ASSERT_NE(t, nullptr);
  expectConnack(*t, "wire-ws");
}

TEST_F(WireTransport, SecureWebSocketConnackByIpAndHostname) {
  auto byIp = connectOk(options("127.0.0.1", broker_->wssPort(), true, true));
  ASSERT_NE(byIp, nullptr);
  expectConnack(*byIp, "wire-wss-ip");
  auto byName = connectOk(options("localhost", broker_->wssPort(), true, true));
  ASSERT_NE(byName, nullptr);
  expectConnack(*byName, "wire-wss-name");
}

TEST_F(WireTransport, MutualTlsWithIntermediateCa) {
  MosquittoBroker mtls(mtlsOptions());
  ASSERT_TRUE(mtls.start()) << mtls.logText();
  for (const bool ws : {false, true}) {
    auto o = options("127.0.0.1", ws ? mtls.wssPort() : mtls.tlsPort(), true, ws);
    o.certFile = pki_->clientCert();
    o.intermediateFile = pki_->intermediateCa();
    o.keyFile = pki_->clientKey();
    auto t = connectOk(o);
    ASSERT_NE(t, nullptr);
    const std::string id = ws ? "wire-mtls-wss" : "wire-mtls";
    std::string in;
    const Io r = pump(*t, connectPacket(id), in, 4);
    ASSERT_EQ(r, Io::Ok) << describe(r) << ": " << t->error() << "\n" << mtls.logText();
    EXPECT_EQ(in, kConnack);
    EXPECT_TRUE(mtls.clientIdsSeen().count(id));
  }
}

TEST_F(WireTransport, LargeRoundTripOverWebSocket) {
  expectLargeRoundTrip(options("127.0.0.1", broker_->wsPort(), false, true), "wire-big-ws");
}

TEST_F(WireTransport, LargeRoundTripOverSecureWebSocket) {
  expectLargeRoundTrip(options("127.0.0.1", broker_->wssPort(), true, true), "wire-big-wss");
}

TEST_F(WireTransport, LargeRoundTripOverTcpAndTls) {
  expectLargeRoundTrip(options("127.0.0.1", broker_->port(), false, false), "wire-big-tcp");
  expectLargeRoundTrip(options("127.0.0.1", broker_->tlsPort(), true, false), "wire-big-tls");
}

TEST_F(WireTransport, ShutdownClosesOrderlyAndPeerCloseIsClosed) {
  // After our close frame / close_notify the broker hangs up: read() reports Closed (not Error).
  for (const auto& [port, tls, ws] :
       {std::tuple{broker_->wsPort(), false, true}, std::tuple{broker_->wssPort(), true, true},
        std::tuple{broker_->tlsPort(), true, false}}) {
    auto t = connectOk(options("127.0.0.1", port, tls, ws));
    ASSERT_NE(t, nullptr);
    const std::string id = "wire-close-" + std::to_string(port);
    std::string in;
    ASSERT_EQ(pump(*t, connectPacket(id), in, 4), Io::Ok) << t->error();
    t->shutdown();
    const Io r = pump(*t, "", in, in.size() + 1, 5s);
    EXPECT_EQ(r, Io::Closed) << describe(r) << ": " << t->error() << " (port " << port << ")";
    EXPECT_EQ(t->read(in), Io::Closed) << "Closed must stick";
    EXPECT_TRUE(waitFor([&] { return broker_->clientIdsConnected().count(id) == 0; }));
  }
}

// --- Connect failures -------------------------------------------------------------------------

TEST_F(WireTransport, WrongCaFailsVerification) {
  auto o = options("127.0.0.1", broker_->tlsPort(), true, false);
  o.caFiles = {pki_->wrongCa()};
  const auto err = connectFails(o);
  EXPECT_EQ(mqtt::name(err.cause), "tls_handshake_failed");
  EXPECT_NE(err.detail.find("verify"), std::string::npos) << err.detail;
  EXPECT_NE(err.detail.rfind("certificate verify failed: ", 0), std::string::npos) << err.detail;
  o.port = static_cast<std::uint16_t>(broker_->wssPort());  // the same over wss
  o.websocket = true;
  const auto errWss = connectFails(o);
  EXPECT_EQ(mqtt::name(errWss.cause), "tls_handshake_failed");
  EXPECT_NE(errWss.detail.find("verify"), std::string::npos) << errWss.detail;
}

TEST_F(WireTransport, HostnameAndIpMismatchFailVerification) {
  // A server certificate from the right CA whose SAN names neither localhost nor 127.0.0.1.
  TempDir dir("mqb-wire-pki");
  dir.write("other.ext",
            "[v]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.invalid\n");
  const std::string cmd =
      "cd '" + dir.path() +
      "' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key && "
      "openssl req -new -key other.key -out other.csr -subj /CN=elsewhere.invalid && "
      "openssl x509 -req -in other.csr -CA '" +
      pki_->rootCa() + "' -CAkey '" + pki_->dir() +
      "/root-ca.key' -set_serial 4242 -out other.pem -days 2 -extfile other.ext -extensions v "
      "&& chmod 0644 other.key other.pem) >'" +
      dir.file("openssl.log") + "' 2>&1";
  ASSERT_EQ(std::system(("(" + cmd).c_str()), 0) << readFile(dir.file("openssl.log"));
  BrokerOptions bo;
  bo.tls = true;
  bo.cafile = pki_->rootCa();
  bo.certfile = dir.file("other.pem");
  bo.keyfile = dir.file("other.key");
  MosquittoBroker other(bo);
  ASSERT_TRUE(other.start()) << other.logText();

  const auto byIp = connectFails(options("127.0.0.1", other.tlsPort(), true, false));
  EXPECT_EQ(mqtt::name(byIp.cause), "tls_handshake_failed");
  EXPECT_NE(byIp.detail.find("IP address mismatch"), std::string::npos) << byIp.detail;
  const auto byName = connectFails(options("localhost", other.tlsPort(), true, false));
  EXPECT_EQ(mqtt::name(byName.cause), "tls_handshake_failed");
  EXPECT_NE(byName.detail.find("hostname mismatch"), std::string::npos) << byName.detail;
  // The chain itself is fine: without name checks (diagnostics only) the handshake succeeds.
  auto o = options("127.0.0.1", other.tlsPort(), true, false);
  o.verifyPeer = false;
  EXPECT_NE(connectOk(o), nullptr);
}

TEST_F(WireTransport, MutualTlsWithoutClientCertificateFails) {
  MosquittoBroker mtls(mtlsOptions());
  ASSERT_TRUE(mtls.start()) << mtls.logText();
  {
    // TLS 1.3: the server judges the (missing) certificate after our handshake finished, so the
    // failure may surface on the first read instead of in connect.
    ConnectError err;
    auto t = connectTransport(options("127.0.0.1", mtls.tlsPort(), true, false), Clock::now() + 10s,
                              -1, err);
    if (t == nullptr) {
      EXPECT_EQ(mqtt::name(err.cause), "tls_handshake_failed") << err.detail;
    } else {
      std::string in;
      const Io r = pump(*t, connectPacket("wire-nocert"), in, 4, 10s);
      EXPECT_TRUE(r == Io::Closed || r == Io::Error) << describe(r);
      EXPECT_TRUE(in.empty());
      // Usually "TLS read: tlsv13 alert certificate required"; if our CONNECT hits the already
      // closed socket first, "TLS write: Connection reset by peer".
      EXPECT_FALSE(t->error().empty());
    }
  }
  {
    // Over wss the alert arrives while we wait for the 101: a handshake failure.
    const auto err = connectFails(options("127.0.0.1", mtls.wssPort(), true, true));
    EXPECT_EQ(mqtt::name(err.cause), "tls_handshake_failed") << err.detail;
    EXPECT_NE(err.detail.find("TLS"), std::string::npos) << err.detail;
  }
  EXPECT_FALSE(mtls.clientIdsSeen().count("wire-nocert"));
}

TEST_F(WireTransport, NothingListeningIsTcpConnectFailed) {
  const auto err = connectFails(options("127.0.0.1", freePort(), false, false));
  EXPECT_EQ(mqtt::name(err.cause), "tcp_connect_failed");
  EXPECT_NE(err.detail.find("refused"), std::string::npos) << err.detail;
  EXPECT_NE(err.detail.find("127.0.0.1:"), std::string::npos) << err.detail;
}

TEST_F(WireTransport, SilentServerTimesOutAtTheDeadline) {
  SilentServer silent;
  ASSERT_TRUE(silent.ok());
  for (const bool tls : {true, false}) {  // TLS handshake / WebSocket upgrade never answered
    auto o = options("127.0.0.1", silent.port(), tls, !tls);
    const auto start = Clock::now();
    const auto err = connectFails(o, 300ms);
    const auto elapsed = Clock::now() - start;
    EXPECT_EQ(mqtt::name(err.cause), "connect_timeout") << err.detail;
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LE(elapsed, 500ms) << "must return within deadline + 200 ms";
  }
}

TEST_F(WireTransport, DeadlineInThePastIsTimeout) {
  ConnectError err;
  const auto start = Clock::now();
  auto t = connectTransport(options("127.0.0.1", broker_->port(), false, false), Clock::now() - 1ms,
                            -1, err);
  EXPECT_EQ(t, nullptr);
  EXPECT_EQ(mqtt::name(err.cause), "connect_timeout");
  EXPECT_LT(Clock::now() - start, 100ms);
}

TEST_F(WireTransport, AbortDuringHandshakeReturnsQuickly) {
  SilentServer silent;
  ASSERT_TRUE(silent.ok());
  const int efd = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  std::atomic<Clock::rep> signalledAt{0};
  std::atomic<bool> sawClientHello{false};
  std::atomic<bool> clientDone{false};
  std::thread aborter([&] {
    // Once the ClientHello sits in our (never answered) connection, abort.
    if (readable(silent.fd())) {
      const int c = ::accept4(silent.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0 && readable(c)) {
        sawClientHello = true;
      }
      signalledAt = Clock::now().time_since_epoch().count();
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto w = ::write(efd, &one, sizeof one);
      if (c >= 0) {
        waitFor([&] { return clientDone.load(); });  // keep it open until the client gave up
        ::close(c);
      }
    }
  });
  const auto start = Clock::now();
  const auto err = connectFails(options("127.0.0.1", silent.port(), true, false), 10s, efd);
  const auto end = Clock::now();
  clientDone = true;
  aborter.join();
  EXPECT_EQ(mqtt::name(err.cause), "aborted") << err.detail;
  EXPECT_TRUE(sawClientHello);
  ASSERT_NE(signalledAt.load(), 0);
  const auto afterSignal = end - Clock::time_point(Clock::duration(signalledAt.load()));
  EXPECT_LT(afterSignal, 200ms);
  EXPECT_LT(end - start, 5s);
  // Still signalled (never read by the transport): the next connect aborts at once.
  const auto again = connectFails(options("127.0.0.1", broker_->port(), false, false), 10s, efd);
  EXPECT_EQ(mqtt::name(again.cause), "aborted");
  ::close(efd);
}

TEST_F(WireTransport, BadTlsFilesAreTlsSetupFailed) {
  TempDir dir("mqb-wire-files");
  const std::string garbage = dir.write("garbage.pem", "not a certificate\n");
  const std::string missing = dir.file("missing.pem");
  auto o = options("127.0.0.1", broker_->tlsPort(), true, false);
  o.caFiles = {missing};
  auto err = connectFails(o);
  EXPECT_EQ(mqtt::name(err.cause), "tls_setup_failed");
  EXPECT_NE(err.detail.find(missing), std::string::npos) << err.detail;

  o.caFiles = {pki_->rootCa(), garbage};
  err = connectFails(o);
  EXPECT_EQ(mqtt::name(err.cause), "tls_setup_failed");
  EXPECT_NE(err.detail.find(garbage), std::string::npos) << err.detail;

  o.caFiles = {pki_->rootCa()};
  o.certFile = pki_->clientCert();
  o.keyFile = pki_->serverKey();  // not the certificate's key
  err = connectFails(o);
  EXPECT_EQ(mqtt::name(err.cause), "tls_setup_failed");
  EXPECT_NE(err.detail.find(pki_->serverKey()), std::string::npos) << err.detail;

  o.keyFile = pki_->clientKey();
  o.intermediateFile = garbage;
  err = connectFails(o);
  EXPECT_EQ(mqtt::name(err.cause), "tls_setup_failed");
  EXPECT_NE(err.detail.find(garbage), std::string::npos) << err.detail;
}

// --- WebSocket details against a scripted server ----------------------------------------------

TEST_F(WireTransport, WebSocketPingFragmentsAndCloseFromScriptedServer) {
  const std::string big(300, 'z');
  // Frames glued to the 101: ping, a message in two fragments, a 16-bit-length frame, close.
  FakeWsServer server([&](const std::string& req) {
    return switchingProtocols(req) + serverFrame(0x89, "hi") + serverFrame(0x02, "AB") +
           serverFrame(0x80, "CD") + serverFrame(0x82, big) +
           serverFrame(0x88, std::string("\x03\xE8", 2) + "bye");
  });
  ASSERT_TRUE(server.ok());
  auto o = options("localhost", server.port(), false, true);
  o.websocketPath = "/custom/path";
  auto t = connectOk(o);
  ASSERT_NE(t, nullptr);
  std::string in;
  const Io r = pump(*t, "", in, 100000, 5s);
  EXPECT_EQ(r, Io::Closed) << describe(r) << ": " << t->error();
  EXPECT_EQ(in, "ABCD" + big);
  EXPECT_NE(t->error().find("1000"), std::string::npos) << t->error();
  t.reset();
  server.join();

  const std::string& req = server.request();
  EXPECT_EQ(req.rfind("GET /custom/path HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Host: localhost:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << req;
  EXPECT_NE(req.find("Sec-WebSocket-Protocol: mqtt\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << req;
  std::vector<ClientFrame> frames;
  ASSERT_TRUE(parseClientFrames(server.received(), frames)) << server.received().size();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].b0, 0x8A);  // pong, same payload
  EXPECT_TRUE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, "hi");
  EXPECT_EQ(frames[1].b0, 0x88);  // close, echoing the status code
  EXPECT_TRUE(frames[1].masked);
  EXPECT_EQ(frames[1].payload, std::string("\x03\xE8", 2));
}

TEST_F(WireTransport, WebSocketOutgoingFramesAreMaskedBinaryAndIpv6HostIsBracketed) {
  FakeWsServer server(switchingProtocols, AF_INET6);
  ASSERT_TRUE(server.ok());
  auto t = connectOk(options("::1", server.port(), false, true));
  ASSERT_NE(t, nullptr);
  std::string small = "hello";
  std::string medium(70000, 'm');  // 64-bit length form (> 65535)
  std::string in;
  ASSERT_EQ(pump(*t, small, in, 0), Io::Ok) << t->error();
  ASSERT_EQ(pump(*t, medium, in, 0), Io::Ok) << t->error();
  t->shutdown();
  t.reset();
  server.join();
  EXPECT_NE(server.request().find("Host: [::1]:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << server.request();
  std::vector<ClientFrame> frames;
  ASSERT_TRUE(parseClientFrames(server.received(), frames));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].b0, 0x82);
  EXPECT_TRUE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].b0, 0x82);
  EXPECT_TRUE(frames[1].masked);
  EXPECT_TRUE(frames[1].payload == std::string(70000, 'm'));
  EXPECT_EQ(frames[2].b0, 0x88);  // shutdown(): close 1000
  EXPECT_EQ(frames[2].payload, std::string("\x03\xE8", 2));
}

TEST_F(WireTransport, BadUpgradeResponsesAreWebsocketUpgradeFailed) {
  {
    FakeWsServer server([](const std::string&) {
      return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    const auto err = connectFails(options("127.0.0.1", server.port(), false, true));
    EXPECT_EQ(mqtt::name(err.cause), "websocket_upgrade_failed");
    EXPECT_EQ(err.detail, "HTTP/1.1 404 Not Found");
  }
  {
    FakeWsServer server([](const std::string&) {
      return std::string(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: d3Jvbmc=\r\n\r\n");
    });
    const auto err = connectFails(options("127.0.0.1", server.port(), false, true));
    EXPECT_EQ(mqtt::name(err.cause), "websocket_upgrade_failed");
    EXPECT_NE(err.detail.find("Sec-WebSocket-Accept"), std::string::npos) << err.detail;
  }
  {
    FakeWsServer server([](const std::string&) { return std::string(); });  // hangs up
    const auto err = connectFails(options("127.0.0.1", server.port(), false, true));
    EXPECT_EQ(mqtt::name(err.cause), "websocket_upgrade_failed");
    EXPECT_NE(err.detail.find("closed"), std::string::npos) << err.detail;
  }
}

TEST_F(WireTransport, WebSocketAcceptMatchesRfc6455Example) {
  EXPECT_EQ(mqtt::wire::websocketAccept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const unsigned char f[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(mqtt::wire::base64Encode(f, 6), "Zm9vYmFy");
  EXPECT_EQ(mqtt::wire::base64Encode(f, 5), "Zm9vYmE=");
  EXPECT_EQ(mqtt::wire::base64Encode(f, 4), "Zm9vYg==");
}

}  // namespace
}  // namespace mqb::test

// Proxy tunnels (mqtt/wire/proxy.h): the HTTP CONNECT request and the check of its answer, the
// SOCKS5 messages, and openTunnel() over a socket pair whose far end plays a proxy that answers
// well, refuses, talks garbage, answers too much or hangs up.

#include "mqtt/wire/proxy.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace mqb::mqtt::wire {
namespace {

TEST(ProxyRequest, ConnectWithBasicAuth) {
  EXPECT_EQ(proxyConnectRequest("broker.example", 8883, false, "", ""),
            "CONNECT broker.example:8883 HTTP/1.1\r\nHost: broker.example:8883\r\n\r\n");
  EXPECT_EQ(proxyConnectRequest("::1", 1883, true, "Aladdin", "open sesame"),
            "CONNECT [::1]:1883 HTTP/1.1\r\nHost: [::1]:1883\r\n"
            "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
}

TEST(ProxyRequest, RefusesWhatWouldSplitTheRequest) {
  EXPECT_EQ(proxyConnectRequest("a\r\nX: y", 1, false, "", ""), "");
  EXPECT_EQ(proxyConnectRequest("a b", 1, false, "", ""), "");
  EXPECT_EQ(proxyConnectRequest("a", 1, false, "us:er", "p"), "");
  EXPECT_EQ(proxyConnectRequest("a", 1, false, "u", "p\n"), "");
}

TEST(ProxyResponse, TwoHundredOpensTheTunnel) {
  int status = 0;
  std::string why;
  EXPECT_TRUE(checkProxyResponse("HTTP/1.1 200 Connection established\r\n", status, why));
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(checkProxyResponse("HTTP/1.0 200\r\nProxy-agent: x/1\r\n", status, why));
}

TEST(ProxyResponse, RefusalsNameTheStatus) {
  int status = 0;
  std::string why;
  EXPECT_FALSE(checkProxyResponse(
      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=x\r\n", status,
      why));
  EXPECT_EQ(status, 407);
  EXPECT_NE(why.find("407 Proxy Authentication Required"), std::string::npos) << why;
  EXPECT_FALSE(checkProxyResponse("HTTP/1.1 502 Bad Gateway\r\n", status, why));
  EXPECT_EQ(status, 502);
}

TEST(ProxyResponse, GarbageIsNotAStatus) {
  int status = 0;
  std::string why;
  for (const char* head : {"", "SSH-2.0-OpenSSH\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/1.0 001 1\r\n",
                           "HTTP/1.1 600 x\r\n", "HTTP/2 200\r\n", "HTTP/1.1 200OK\r\n",
                           "HTTP/1.1 200 OK\r\nno colon here\r\n",
                           "HTTP/1.1 200 OK\r\n folded: header\r\n", "HTTP/1.1 200 \x01\r\n"}) {
    EXPECT_FALSE(checkProxyResponse(head, status, why)) << head;
    EXPECT_EQ(status, 0) << head;
  }
}

TEST(Socks5, Messages) {
  EXPECT_EQ(socks5Greeting(false), std::string("\x05\x01\x00", 3));
  EXPECT_EQ(socks5Greeting(true), std::string("\x05\x02\x00\x02", 4));
  EXPECT_EQ(socks5Auth("u", "pw"), std::string("\x01\x01u\x02pw", 6));
  EXPECT_EQ(socks5Auth("", "pw"), "");
  EXPECT_EQ(socks5Connect("127.0.0.1", 1883),
            std::string("\x05\x01\x00\x01\x7f\x00\x00\x01\x07\x5b", 10));
  EXPECT_EQ(socks5Connect("ab", 443), std::string("\x05\x01\x00\x03\x02"
                                                  "ab\x01\xbb",
                                                  9));
  EXPECT_EQ(socks5Connect(std::string(256, 'a'), 1), "");
}

TEST(Socks5, ReplySize) {
  std::string why;
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x00\x00", 3), why), 0);
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x00\x00\x01\x7f", 5), why), 10);
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x00\x00\x04\x00", 5), why), 22);
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x00\x00\x03\x05", 5), why), 12);
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x05", 2), why), -1);
  EXPECT_NE(why.find("connection refused"), std::string::npos) << why;
  EXPECT_EQ(socks5ReplySize(std::string("\x04", 1), why), -1);
  EXPECT_EQ(socks5ReplySize(std::string("\x05\x00\x00\x09\x00", 5), why), -1);
}

/// A socket pair: openTunnel() runs on `ours`, the test plays the proxy on `theirs`.
struct Pair {
  int ours = -1;
  int theirs = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ours = fds[0];
    theirs = fds[1];
  }
  ~Pair() {
    close(ours);
    if (theirs >= 0) {
      close(theirs);
    }
  }
  void answer(const std::string& bytes) const {
    ASSERT_EQ(write(theirs, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  std::string request() const {
    char buf[4096];
    const ssize_t n = recv(theirs, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  std::string rest() const {
    char buf[256];
    const ssize_t n = recv(ours, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
};

bool tunnel(const Pair& p, const ProxySettings& s, ConnectError& err) {
  return openTunnel(p.ours, s, "broker", 8883,
                    std::chrono::steady_clock::now() + std::chrono::seconds(2), -1, err);
}

ProxySettings http(std::string user = "", std::string password = "") {
  ProxySettings s;
  s.kind = ProxySettings::Kind::HttpConnect;
  s.username = std::move(user);
  s.password = std::move(password);
  return s;
}

TEST(OpenTunnel, HttpLeavesTheTunnelBytesInTheSocket) {
  Pair p;
  p.answer("HTTP/1.1 200 Connection established\r\n\r\nMQTT");
  ConnectError err;
  ASSERT_TRUE(tunnel(p, http("u", "secret"), err)) << err.detail;
  EXPECT_EQ(p.request().substr(0, 31), "CONNECT broker:8883 HTTP/1.1\r\nH");
  EXPECT_EQ(p.rest(), "MQTT");
}

TEST(OpenTunnel, HttpRefusalIsProxyRefusedWithoutCredentials) {
  Pair p;
  p.answer("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  ConnectError err;
  EXPECT_FALSE(tunnel(p, http("user", "s3cr3t-pw"), err));
  EXPECT_EQ(err.cause, Cause::ProxyRefused);
  EXPECT_NE(err.detail.find("407"), std::string::npos) << err.detail;
  EXPECT_EQ(err.detail.find("s3cr3t"), std::string::npos);
}

TEST(OpenTunnel, OversizedAnswerIsBounded) {
  Pair p;
  std::string big = "HTTP/1.1 200 OK\r\n";
  while (big.size() < kMaxProxyResponse + 100) {
    big += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  }
  p.answer(big);
  ConnectError err;
  EXPECT_FALSE(tunnel(p, http(), err));
  EXPECT_EQ(err.cause, Cause::ProxyProtocolError);
  EXPECT_NE(err.detail.find("exceed"), std::string::npos) << err.detail;
}

TEST(OpenTunnel, GarbageAndHangUpAreProtocolErrors) {
  {
    Pair p;
    p.answer("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    ConnectError err;
    EXPECT_FALSE(tunnel(p, http(), err));
    EXPECT_EQ(err.cause, Cause::ProxyProtocolError);
  }
  {
    Pair p;
    p.answer("HTTP/1.1 200 Conn");
    shutdown(p.theirs, SHUT_WR);
    ConnectError err;
    EXPECT_FALSE(tunnel(p, http(), err));
    EXPECT_EQ(err.cause, Cause::ProxyProtocolError);
    EXPECT_NE(err.detail.find("closed"), std::string::npos) << err.detail;
  }
}

TEST(OpenTunnel, SilentProxyTimesOut) {
  Pair p;
  ConnectError err;
  EXPECT_FALSE(openTunnel(p.ours, http(), "broker", 1,
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(50), -1,
                          err));
  EXPECT_EQ(err.cause, Cause::ConnectTimeout);
}

TEST(OpenTunnel, Socks5WithAuth) {
  Pair p;
  // Method 2, auth ok, success with a domain-name bound address; then tunnel bytes.
  p.answer(std::string("\x05\x02\x01\x00\x05\x00\x00\x03\x01x\x00\x01", 12) + "MQTT");
  ProxySettings s;
  s.kind = ProxySettings::Kind::Socks5;
  s.username = "u";
  s.password = "p";
  ConnectError err;
  ASSERT_TRUE(tunnel(p, s, err)) << err.detail;
  EXPECT_EQ(p.rest(), "MQTT");
}

TEST(OpenTunnel, Socks5Refusal) {
  Pair p;
  p.answer(std::string("\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 12));
  ProxySettings s;
  s.kind = ProxySettings::Kind::Socks5;
  ConnectError err;
  EXPECT_FALSE(tunnel(p, s, err));
  EXPECT_EQ(err.cause, Cause::ProxyRefused);
  EXPECT_NE(err.detail.find("connection refused"), std::string::npos) << err.detail;
}

}  // namespace
}  // namespace mqb::mqtt::wire

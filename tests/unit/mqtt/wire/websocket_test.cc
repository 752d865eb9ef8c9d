// The WebSocket framer and opening handshake (mqtt/wire/websocket.h) without sockets: what the
// server's frames deliver, every RFC 6455 rule a server can break, one pong for a ping flood,
// and the upgrade request and answer.

#include "mqtt/wire/websocket.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace mqb::mqtt::wire {
namespace {

std::string B(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) {
    s.push_back(static_cast<char>(c));
  }
  return s;
}

/// An unmasked server frame.
std::string frame(int first, const std::string& payload) {
  std::string f(1, static_cast<char>(first));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else {
    f += B({126, static_cast<int>(payload.size() >> 8), static_cast<int>(payload.size() & 0xFF)});
  }
  return f + payload;
}

struct Parsed {
  WebSocketFramer::Status status;
  std::string out;
  std::string error;
};

Parsed parse(const std::string& bytes) {
  WebSocketFramer f;
  f.feed(bytes.data(), bytes.size());
  Parsed p{};
  std::size_t delivered = 0;
  p.status = f.parse(p.out, delivered);
  EXPECT_EQ(delivered, p.out.size());
  p.error = f.error();
  return p;
}

TEST(WebSocketFramer, DeliversBinaryAndContinuationPayload) {
  // A message in three fragments (one empty), then a message in one frame.
  const Parsed p = parse(frame(0x02, "ab") + frame(0x00, "cd") + frame(0x00, "") +
                         frame(0x80, "ef") + frame(0x82, "gh"));
  EXPECT_EQ(p.status, WebSocketFramer::Status::NeedMore) << p.error;
  EXPECT_EQ(p.out, "abcdefgh");
}

TEST(WebSocketFramer, DirectPayloadMidFrame) {
  WebSocketFramer f;
  const std::string head = B({0x82, 126, 0x01, 0x00});  // 256 bytes of payload follow
  f.feed(head.data(), head.size());
  std::string out;
  std::size_t delivered = 0;
  EXPECT_EQ(f.parse(out, delivered), WebSocketFramer::Status::NeedMore);
  EXPECT_EQ(f.directPayload(), 256u);
  f.tookDirect(200);
  EXPECT_EQ(f.directPayload(), 56u);
  f.tookDirect(56);
  EXPECT_EQ(f.directPayload(), 0u);
  const std::string next = frame(0x82, "x");
  f.feed(next.data(), next.size());
  EXPECT_EQ(f.parse(out, delivered), WebSocketFramer::Status::NeedMore);
  EXPECT_EQ(out, "x");
}

TEST(WebSocketFramer, APingFloodLeavesOnePongWithTheLatestPayload) {
  std::string flood;
  for (int i = 0; i < 1000; ++i) {
    std::string payload = "p";
    payload += std::to_string(i);
    flood += frame(0x89, payload);
  }
  WebSocketFramer f;
  f.feed(flood.data(), flood.size());
  std::string out;
  std::size_t delivered = 0;
  EXPECT_EQ(f.parse(out, delivered), WebSocketFramer::Status::NeedMore);
  std::string pong;
  ASSERT_TRUE(f.takePong(pong));
  EXPECT_EQ(pong, "p999");
  EXPECT_FALSE(f.takePong(pong));
}

TEST(WebSocketFramer, EveryRuleAServerCanBreakIsAnError) {
  const auto error = [](const std::string& bytes, const std::string& what) {
    const Parsed p = parse(bytes);
    EXPECT_EQ(p.status, WebSocketFramer::Status::Error) << what;
    EXPECT_NE(p.error.find("websocket protocol error"), std::string::npos) << what << p.error;
  };
  error(B({0x82, 0x81, 1, 2, 3, 4, 'x'}), "masked frame");
  error(frame(0x81, "text"), "text frame");
  error(frame(0xC2, "x"), "RSV bit");
  error(frame(0x09, "x"), "fragmented ping");
  error(frame(0x89, std::string(126, 'x')), "control frame over 125 bytes");
  error(B({0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}), "64-bit length with the top bit");
  error(frame(0x80, "x"), "continuation without a message");
  error(frame(0x02, "a") + frame(0x82, "b"), "new message inside a fragmented one");
  error(frame(0x8B, ""), "unknown control opcode");
  error(frame(0x83, "x"), "unknown data opcode");
  error(frame(0x88, "x"), "close frame of one byte");
  error(frame(0x88, B({0x03, 0xED})), "close code 1005 (must not be sent)");
  error(frame(0x88, B({0x03, 0xE8, 0xFF})), "close reason not UTF-8");
}

TEST(WebSocketFramer, ACloseFrameEndsWithItsCodeAndReason) {
  const std::string bytes = frame(0x82, "last") + frame(0x88, B({0x03, 0xE9}) + "going away");
  WebSocketFramer f;
  f.feed(bytes.data(), bytes.size());
  std::string out;
  std::size_t delivered = 0;
  EXPECT_EQ(f.parse(out, delivered), WebSocketFramer::Status::Closed);
  EXPECT_EQ(out, "last");  // what came before the close is delivered
  EXPECT_EQ(f.closeCode(), 1001u);
  EXPECT_EQ(f.closeText(), "websocket close received (code 1001: going away)");
}

TEST(WebSocketFramer, ClientFramesAreMaskedWithFreshKeys) {
  WebSocketFramer f;
  std::string a, b;
  f.frame(0x2, "hello", 5, a);
  f.frame(0x2, "hello", 5, b);
  ASSERT_EQ(a.size(), 2u + 4 + 5);
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0x82);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x80 | 5);
  std::string unmasked;
  for (int i = 0; i < 5; ++i) {
    unmasked.push_back(static_cast<char>(a[6 + i] ^ a[2 + i % 4]));
  }
  EXPECT_EQ(unmasked, "hello");
  EXPECT_NE(a.substr(2, 4), b.substr(2, 4));
}

TEST(WebSocketUpgrade, RequestAndAnswer) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  EXPECT_EQ(upgradeRequest("::1", 8080, false, true, "mqtt", key),
            "GET /mqtt HTTP/1.1\r\nHost: [::1]:8080\r\nUpgrade: websocket\r\nConnection: "
            "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
            "13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
  EXPECT_EQ(upgradeRequest("h", 443, true, false, "/a b", key), "");  // would split the request
  const std::string good =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, "
      "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "Sec-WebSocket-Protocol: mqtt\r\n";
  std::string why;
  EXPECT_TRUE(checkUpgradeResponse(good, key, why)) << why;
  EXPECT_FALSE(checkUpgradeResponse("HTTP/1.1 200 OK\r\n", key, why));
  EXPECT_EQ(why, "HTTP/1.1 200 OK");
  EXPECT_FALSE(checkUpgradeResponse("\r\nUpgrade: websocket\r\n", key, why));
  EXPECT_EQ(why, "(no status line)");
  std::string wrongAccept = good;
  wrongAccept.replace(wrongAccept.find("s3pP"), 4, "AAAA");
  EXPECT_FALSE(checkUpgradeResponse(wrongAccept, key, why));
  EXPECT_NE(why.find("Sec-WebSocket-Accept"), std::string::npos);
  EXPECT_FALSE(
      checkUpgradeResponse(good + "Sec-WebSocket-Extensions: permessage-deflate\r\n", key, why));
}

}  // namespace
}  // namespace mqb::mqtt::wire

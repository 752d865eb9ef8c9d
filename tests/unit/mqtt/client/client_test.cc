// mqtt/client: the broker URI of an endpoint, as the client logs it.

#include <gtest/gtest.h>

#include "mqtt/client.h"

namespace mqb::mqtt {
namespace {

Endpoint endpoint(const std::string& host, int port, bool tls, bool websocket = false) {
  Endpoint e;
  e.host = host;
  e.port = static_cast<std::uint16_t>(port);
  e.tls = tls;
  e.websocket = websocket;
  return e;
}

TEST(EndpointUri, SchemesFollowTransportAndTls) {
  EXPECT_EQ(uriOf(endpoint("edge", 1883, false)), "tcp://edge:1883");
  EXPECT_EQ(uriOf(endpoint("cloud.example", 8883, true)), "ssl://cloud.example:8883");
  EXPECT_EQ(uriOf(endpoint("h", 80, false, true)), "ws://h:80");
  EXPECT_EQ(uriOf(endpoint("h", 443, true, true)), "wss://h:443");
}

TEST(EndpointUri, Ipv6LiteralsGetBrackets) {
  EXPECT_EQ(uriOf(endpoint("::1", 1883, false)), "tcp://[::1]:1883");
  EXPECT_EQ(uriOf(endpoint("fe80::1", 8883, true)), "ssl://[fe80::1]:8883");
}

}  // namespace
}  // namespace mqb::mqtt

// mqtt/failure: how a connection failure is named, detailed and classified.

#include <gtest/gtest.h>

#include <set>

#include "mqtt/failure.h"

namespace mqb::mqtt {
namespace {

TEST(Failure, ARefusalIsLoggedWithTheBrokersReasonNameAndClassified) {
  const Failure v5{Cause::ConnackRefused, 0x87, true, "no"};
  EXPECT_EQ(reasonOf(v5), "not_authorized");
  EXPECT_EQ(classify(v5), FailureClass::NotAuthorized);
  const Failure v3{Cause::ConnackRefused, 4, false, ""};
  EXPECT_EQ(reasonOf(v3), "bad_username_or_password");
  EXPECT_EQ(classify(v3), FailureClass::NotAuthorized);
  EXPECT_EQ(classify(Failure{Cause::ConnackRefused, 0x88, true, ""}), FailureClass::Refused);
  EXPECT_EQ(classify(Failure{Cause::ConnackRefused, 0x84, true, ""}), FailureClass::Protocol);
}

TEST(Failure, AServerDisconnectKeepsItsReasonCodeAndString) {
  const Failure f{Cause::ServerDisconnect, 0x8E, true, "another client took the session"};
  EXPECT_EQ(reasonOf(f), "server_disconnect");
  EXPECT_EQ(detailOf(f), "session_taken_over (0x8E): another client took the session");
  EXPECT_EQ(classify(f), FailureClass::Network);
}

TEST(Failure, EveryCauseHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(Cause::Aborted); ++c) {
    const auto n = name(static_cast<Cause>(c));
    EXPECT_NE(n, "unknown") << c;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
  EXPECT_EQ(classify(Failure{Cause::TlsHandshakeFailed, 0, true, ""}), FailureClass::Tls);
  EXPECT_EQ(classify(Failure{Cause::ProtocolError, 0, true, ""}), FailureClass::Protocol);
  EXPECT_EQ(classify(Failure{Cause::TcpConnectFailed, 0, true, ""}), FailureClass::Network);
  EXPECT_EQ(classify(Failure{Cause::TokenFetchFailed, 0, true, ""}), FailureClass::NotAuthorized);
}

}  // namespace
}  // namespace mqb::mqtt

// What a managed-identity token endpoint answers, read without trusting it
// (mqtt/auth/token_response.h).

#include "mqtt/auth/token_response.h"

#include <gtest/gtest.h>

#include <string>

namespace mqb::mqtt::auth {
namespace {

constexpr std::int64_t kNow = 1765000000;

TEST(TokenResponse, ExpiryFromExpiresOnOrExpiresIn) {
  std::string error;
  auto t = parseTokenResponse(
      R"({"access_token":"a.b.c","expires_on":")" + std::to_string(kNow + 3600) + R"("})", kNow,
      error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->value, "a.b.c");
  EXPECT_EQ(t->validSeconds, 3540);  // a minute early
  t = parseTokenResponse(R"({"access_token":"x","expires_in":300})", kNow, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->validSeconds, 270);  // 90 % of a short lifetime
  t = parseTokenResponse(R"({"access_token":"x"})", kNow, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->validSeconds, 270);  // unknown: five minutes
  t = parseTokenResponse(R"({"access_token":"x","expires_on":1})", kNow, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->validSeconds, 0);  // expired already: used once, fetched again next time
}

TEST(TokenResponse, AnythingElseIsRefusedWithoutEchoingTheToken) {
  const auto refused = [](const std::string& body) {
    std::string error;
    EXPECT_FALSE(parseTokenResponse(body, kNow, error)) << body;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find("SECRET"), std::string::npos) << error;
  };
  refused("");
  refused("not json");
  refused("[]");
  refused(R"({"token":"SECRET"})");
  refused(R"({"access_token":42})");
  refused(R"({"access_token":""})");
  refused(R"({"access_token":"SECRET with space"})");
  refused(R"({"access_token":"SECRET\n"})");
  refused(R"({"access_token":")" + std::string(kMaxTokenBytes + 1, 'S') + R"("})");
}

TEST(TokenResponse, BadExpiryFieldsAreIgnored) {
  std::string error;
  auto t = parseTokenResponse(R"({"access_token":"x","expires_on":"soon","expires_in":-5})", kNow,
                              error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->validSeconds, 270);
}

TEST(ArcChallenge, NamesTheRealmPath) {
  EXPECT_EQ(parseArcChallenge("Basic realm=/var/opt/azcmagent/tokens/a.key"),
            std::optional<std::string>("/var/opt/azcmagent/tokens/a.key"));
  EXPECT_EQ(parseArcChallenge(" basic realm=\"/t/b.key\"\r"),
            std::optional<std::string>("/t/b.key"));
  EXPECT_FALSE(parseArcChallenge("Bearer realm=/t/a.key"));
  EXPECT_FALSE(parseArcChallenge("Basic charset=utf-8"));
  EXPECT_FALSE(parseArcChallenge("Basic realm="));
  EXPECT_FALSE(parseArcChallenge(std::string("Basic realm=/t/a\0b.key", 22)));
}

}  // namespace
}  // namespace mqb::mqtt::auth

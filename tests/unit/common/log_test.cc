#include "common/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mqb::log {
namespace {

using namespace std::chrono_literals;

/// Captures log lines for one test and restores the defaults afterwards.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setSink([this](std::string_view l) { lines_.emplace_back(l); });
    setLevel(Level::Debug);
    setJson(false);
  }
  void TearDown() override {
    setSink({});
    setLevel(Level::Info);
    setJson(false);
  }
  std::vector<std::string> lines_;
};

/// Drops the leading "ts=... " so expectations do not depend on the time.
std::string withoutTs(const std::string& line) { return line.substr(line.find(' ') + 1); }

TEST_F(LogTest, TextLineQuotesAndEscapes) {
  info("client_connected",
       {{"client", "edge-1"}, {"broker", "a b"}, {"topic", "x=\"y\"\n\x01"}, {"n", 42}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(withoutTs(lines_[0]),
            "level=info event=client_connected client=edge-1 broker=\"a b\" "
            "topic=\"x=\\\"y\\\"\\n\\x01\" n=42\n");
  EXPECT_EQ(lines_[0].rfind("ts=", 0), 0u);
}

TEST_F(LogTest, TextKeepsOneLinePerEventForBinaryValues) {
  info("e", {{"v", std::string("a\xff\x7f\r", 4)}, {"empty", ""}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(withoutTs(lines_[0]), "level=info event=e v=\"a\\xff\\x7f\\r\" empty=\"\"\n");
}

TEST_F(LogTest, JsonIsValidAndRoundTrips) {
  setJson(true);
  const std::string tricky = "q\"b\\s/\n\t\x02 é ✓";
  warn("publish_failed", {{"topic", tricky}, {"rc", -3}});
  ASSERT_EQ(lines_.size(), 1u);
  ASSERT_EQ(lines_[0].back(), '\n');
  const auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j.at("level"), "warn");
  EXPECT_EQ(j.at("event"), "publish_failed");
  EXPECT_EQ(j.at("topic"), tricky);
  EXPECT_EQ(j.at("rc"), "-3");
  EXPECT_TRUE(j.contains("ts"));
}

TEST_F(LogTest, JsonReplacesInvalidUtf8) {
  setJson(true);
  // lone continuation byte, truncated 3-byte sequence, overlong '/', surrogate
  info("e", {{"v", std::string("a\x80"
                               "b\xe2\x82"
                               "c\xc0\xaf"
                               "d\xed\xa0\x80",
                               12)}});
  ASSERT_EQ(lines_.size(), 1u);
  const auto j = nlohmann::json::parse(lines_[0]);  // throws on invalid UTF-8
  const std::string v = j.at("v");
  EXPECT_EQ(v.rfind("a\xef\xbf\xbd"
                    "b",
                    0),
            0u)
      << v;
  EXPECT_EQ(v.find('\x80'), std::string::npos);
}

TEST_F(LogTest, SecretsAreRedacted) {
  info("auth", {{"password", "hunter2"},
                {"sasToken", "abc"},
                {"client_secret", "s"},
                {"token_file", "/var/run/t"}});
  setJson(true);
  info("auth", {{"password", "hunter2"}});
  ASSERT_EQ(lines_.size(), 2u);
  for (const auto& l : lines_) {
    EXPECT_EQ(l.find("hunter2"), std::string::npos) << l;
    EXPECT_EQ(l.find("abc"), std::string::npos) << l;
  }
  EXPECT_NE(lines_[0].find("token_file=/var/run/t"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[1].find("\"password\":\"<redacted>\""), std::string::npos) << lines_[1];
}

TEST_F(LogTest, LevelFilters) {
  setLevel(Level::Warn);
  debug("d");
  info("i");
  warn("w");
  error("e");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_NE(lines_[0].find("level=warn event=w"), std::string::npos);
  EXPECT_NE(lines_[1].find("level=error event=e"), std::string::npos);
  Level l{};
  EXPECT_TRUE(parseLevel("debug", l));
  EXPECT_EQ(l, Level::Debug);
  EXPECT_TRUE(parseLevel("error", l));
  EXPECT_EQ(l, Level::Error);
  EXPECT_FALSE(parseLevel("verbose", l));
}

TEST(Every, AllowsOncePerIntervalAndCountsSuppressed) {
  Every every(1000ms);
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::hours(5));
  std::uint64_t s = 99;
  EXPECT_TRUE(every.allow(t0, &s));
  EXPECT_EQ(s, 0u);
  EXPECT_FALSE(every.allow(t0 + 1ms, &s));
  EXPECT_FALSE(every.allow(t0 + 500ms, &s));
  EXPECT_FALSE(every.allow(t0 + 999ms, &s));
  EXPECT_TRUE(every.allow(t0 + 1000ms, &s));
  EXPECT_EQ(s, 3u);
  EXPECT_FALSE(every.allow(t0 + 1500ms, &s));
  EXPECT_TRUE(every.allow(t0 + 5000ms, &s));
  EXPECT_EQ(s, 1u);
}

TEST_F(LogTest, RepeatedErrorsAreRateLimited) {
  Every every(1h);  // only the first passes within this test
  for (int i = 0; i < 100; ++i) {
    errorEvery(every, "connect_failed", {{"client", "c"}, {"attempt", i}});
  }
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("attempt=0"), std::string::npos);
}

TEST_F(LogTest, SuppressedCountIsReportedWithTheNextLine) {
  setJson(true);
  // Two occurrences held back at (injected) times near the clock's epoch; the real "now" that
  // errorEvery() uses is long past that window, so the next call passes and reports them.
  const auto epoch = std::chrono::steady_clock::time_point{};
  Every limited(10ms);
  ASSERT_TRUE(limited.allow(epoch, nullptr));
  ASSERT_FALSE(limited.allow(epoch + 1ms, nullptr));
  ASSERT_FALSE(limited.allow(epoch + 2ms, nullptr));
  errorEvery(limited, "e", {{"k", "v"}});
  ASSERT_EQ(lines_.size(), 1u);
  const auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j.at("suppressed"), "2");
  EXPECT_EQ(j.at("k"), "v");
  EXPECT_EQ(j.at("level"), "error");
}

}  // namespace
}  // namespace mqb::log

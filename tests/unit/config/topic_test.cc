#include "config/topic.h"

#include <gtest/gtest.h>

namespace mqb::config::topic {
namespace {

TEST(TopicFilter, AcceptsValidFilters) {
  for (const char* f : {"a", "a/b", "#", "+", "a/+/b", "a/#", "+/+", "/", "a//b", "$SYS/#",
                        "sport/tennis/+", "ü/ñ"}) {
    EXPECT_EQ(filterError(f), "") << f;
  }
}

TEST(TopicFilter, RejectsMisplacedWildcardsEmptyNulAndTooLong) {
  EXPECT_NE(filterError(""), "");
  EXPECT_NE(filterError("a/#/b"), "");  // # not last
  EXPECT_NE(filterError("a#"), "");     // # not alone in its level
  EXPECT_NE(filterError("a/b#"), "");
  EXPECT_NE(filterError("a+/b"), "");  // + not a whole level
  EXPECT_NE(filterError("a/+b"), "");
  EXPECT_NE(filterError(std::string("a\0b", 3)), "");
  EXPECT_NE(filterError(std::string(65536, 'a')), "");
  EXPECT_EQ(filterError(std::string(65535, 'a')), "");
  EXPECT_NE(filterError("\xff\xfe"), "");      // not UTF-8
  EXPECT_NE(filterError("\xed\xa0\x80"), "");  // UTF-16 surrogate
  EXPECT_NE(filterError("\xc0\xaf"), "");      // overlong
}

TEST(TopicName, RejectsWildcards) {
  EXPECT_EQ(nameError("factory/alerts"), "");
  EXPECT_NE(nameError("a/+"), "");
  EXPECT_NE(nameError("a/#"), "");
  EXPECT_NE(nameError(""), "");
  EXPECT_NE(nameError(std::string("a\0", 2)), "");
}

TEST(TopicTarget, AcceptsTemplatesButNoWildcardsOutsideBraces) {
  EXPECT_EQ(targetError("factory/{1}/{2-#}"), "");
  EXPECT_EQ(targetError("plain/topic"), "");
  EXPECT_NE(targetError("factory/{1}/+"), "");
  EXPECT_NE(targetError("factory/#/{1}"), "");
  EXPECT_NE(targetError("factory/{1"), "");
  EXPECT_NE(targetError("factory/1}"), "");
  EXPECT_EQ(targetError("factory/{{1}}"), "");  // literal braces
  EXPECT_NE(targetError(""), "");
  EXPECT_TRUE(isTemplate("a/{1}"));
  EXPECT_FALSE(isTemplate("a/1"));
}

TEST(TopicMatch, FollowsMqttRules) {
  EXPECT_TRUE(matches("a/b", "a/b"));
  EXPECT_FALSE(matches("a/b", "a/c"));
  EXPECT_TRUE(matches("sport/#", "sport"));
  EXPECT_TRUE(matches("sport/#", "sport/tennis/player1"));
  EXPECT_TRUE(matches("#", "anything/at/all"));
  EXPECT_TRUE(matches("sport/+", "sport/"));
  EXPECT_FALSE(matches("sport/+", "sport"));
  EXPECT_FALSE(matches("sport/+", "sport/a/b"));
  EXPECT_TRUE(matches("+/+", "/finance"));
  EXPECT_FALSE(matches("a/b", "a/b/c"));
  EXPECT_FALSE(matches("a/b/c", "a/b"));
}

TEST(TopicMatch, WildcardsDoNotMatchDollarTopics) {
  EXPECT_FALSE(matches("#", "$SYS/broker/load"));
  EXPECT_FALSE(matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/#", "$SYS/broker/load"));
  EXPECT_TRUE(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
}

TEST(TopicOverlap, DetectsFiltersSharingATopic) {
  EXPECT_TRUE(overlaps("a/+", "a/b"));
  EXPECT_TRUE(overlaps("a/#", "+/c/d"));
  EXPECT_TRUE(overlaps("a", "a"));
  EXPECT_FALSE(overlaps("a/+", "b/+"));
  EXPECT_FALSE(overlaps("a/+", "a/b/c"));
  EXPECT_EQ(templateAsFilter("f/{1}/x/{2-#}"), "f/+/x/#");
  EXPECT_EQ(templateAsFilter("f/x"), "f/x");
}

TEST(SharedSubscription, BuildsShareString) {
  EXPECT_EQ(sharedSubscription("group1", "remote-topic"), "$share/group1/remote-topic");
  EXPECT_EQ(groupNameError("sub-group"), "");
  EXPECT_NE(groupNameError("a/b"), "");
  EXPECT_NE(groupNameError("a+"), "");
  EXPECT_NE(groupNameError("#"), "");
  EXPECT_NE(groupNameError(""), "");
}

}  // namespace
}  // namespace mqb::config::topic

#include <gtest/gtest.h>

#include "stages/topic_rewrite/topic_rewrite.h"

namespace mqb::stages::topic_rewrite {
namespace {

std::string resolve(const std::string& tmpl, const std::string& topic) {
  std::string err;
  auto t = parseTemplate(tmpl, err);
  EXPECT_TRUE(t.has_value()) << err;
  if (!t) {
    return "<parse error>";
  }
  std::string out;
  return t->resolve(topic, out) ? out : "<unresolved>";
}

std::string parseError(const std::string& tmpl) {
  std::string err;
  auto t = parseTemplate(tmpl, err);
  EXPECT_FALSE(t.has_value()) << tmpl;
  return err;
}

TEST(TopicTemplate, StaticTargetHasNoPlaceholders) {
  std::string err;
  auto t = parseTemplate("factory/alerts", err);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->isStatic());
  EXPECT_EQ(resolve("factory/alerts", "any/topic"), "factory/alerts");
}

TEST(TopicTemplate, ResolvesLevelsRangesAndWholeTopic) {
  const std::string topic = "plant/line3/dev7/temp";
  EXPECT_EQ(resolve("factory/{1}", topic), "factory/plant");
  EXPECT_EQ(resolve("factory/{4}", topic), "factory/temp");
  EXPECT_EQ(resolve("x/{2-3}/y", topic), "x/line3/dev7/y");
  EXPECT_EQ(resolve("f/{1}/{2-#}", topic), "f/plant/line3/dev7/temp");
  EXPECT_EQ(resolve("{4-#}", topic), "temp");
  EXPECT_EQ(resolve("mirror/{#}", topic), "mirror/plant/line3/dev7/temp");
  EXPECT_EQ(resolve("{2}-{1}", topic), "line3-plant");
  EXPECT_EQ(resolve("{{lit}}/{1}", topic), "{lit}/plant");
}

TEST(TopicTemplate, EmptyLevelsAreLevels) {
  EXPECT_EQ(resolve("a/{2}/b", "x//y"), "a//b");
  EXPECT_EQ(resolve("{1-#}", "/lead"), "/lead");
}

TEST(TopicTemplate, MissingLevelIsUnresolved) {
  EXPECT_EQ(resolve("f/{3}", "a/b"), "<unresolved>");
  EXPECT_EQ(resolve("f/{2-3}", "a/b"), "<unresolved>");
  EXPECT_EQ(resolve("f/{3-#}", "a/b"), "<unresolved>");
  EXPECT_EQ(resolve("{1}", "/b"), "<unresolved>");  // empty result is not a topic
}

TEST(TopicTemplate, DeepTopicsBeyondTheInlineBuffer) {
  std::string topic = "l1";
  for (int i = 2; i <= 100; ++i) {
    topic += "/l" + std::to_string(i);
  }
  EXPECT_EQ(resolve("{99-#}", topic), "l99/l100");
  EXPECT_EQ(resolve("{70}", topic), "l70");
}

TEST(TopicTemplate, BadTemplatesGiveExactErrors) {
  EXPECT_EQ(parseError(""), "must not be empty");
  EXPECT_EQ(parseError("a/{2"), "unterminated placeholder \"{2\" at column 3");
  EXPECT_EQ(parseError("a/{}"), "empty placeholder \"{}\" at column 3");
  EXPECT_EQ(parseError("{x}"),
            "invalid placeholder \"{x}\" at column 1: expected {N}, {N-M}, {N-#} or {#}");
  EXPECT_EQ(parseError("{1-}"),
            "invalid placeholder \"{1-}\" at column 1: expected {N}, {N-M}, {N-#} or {#}");
  EXPECT_EQ(parseError("{-2}"),
            "invalid placeholder \"{-2}\" at column 1: expected {N}, {N-M}, {N-#} or {#}");
  EXPECT_EQ(parseError("b/{0}"),
            "invalid placeholder \"{0}\" at column 3: levels are numbered from 1");
  EXPECT_EQ(parseError("{3-1}"),
            "invalid placeholder \"{3-1}\" at column 1: range ends before it starts");
  EXPECT_EQ(parseError("{1001}"),
            "invalid placeholder \"{1001}\" at column 1: levels above 1000 are not supported");
  EXPECT_EQ(parseError("a}b"), "unmatched '}' at column 2 (write }} for a literal brace)");
  EXPECT_EQ(parseError("a/+/b"), "wildcard '+' at column 3 is not allowed in a target topic");
  EXPECT_EQ(parseError("a/#"), "wildcard '#' at column 3 is not allowed in a target topic");
}

}  // namespace
}  // namespace mqb::stages::topic_rewrite

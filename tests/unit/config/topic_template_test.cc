// Route target templates (config/topic_template.h): what they resolve to, what they refuse and
// with which words, and the filter that covers what they produce.

#include "config/topic_template.h"

#include <gtest/gtest.h>

#include "config/topic.h"

namespace mqb::config::topic {
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

TEST(TopicTemplate, DoubledBracesAreLiteralBraces) {
  EXPECT_EQ(resolve("a/{{x}}/{1}", "plant/line3"), "a/{x}/plant");
  EXPECT_EQ(resolve("{{{1}}}", "plant/line3"), "{plant}");
  EXPECT_EQ(resolve("a/}}{{", "t"), "a/}{");
  std::string err;
  const auto t = parseTemplate("a/{{x}}", err);
  ASSERT_TRUE(t) << err;
  EXPECT_TRUE(t->isStatic());
  EXPECT_EQ(t->parts()[0].literal, "a/{x}");
  EXPECT_EQ(t->text(), "a/{{x}}");
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
  EXPECT_EQ(parseError("a/+/b"),
            "wildcard '+' at column 3 is not allowed in a target topic; wildcards belong in "
            "`source`");
  EXPECT_EQ(parseError("a/#"),
            "wildcard '#' at column 3 is not allowed in a target topic; wildcards belong in "
            "`source`");
  EXPECT_EQ(parseError("a/{{1}"), "unmatched '}' at column 6 (write }} for a literal brace)");
  EXPECT_EQ(parseError(std::string("a\0b", 3)), "must not contain the NUL character");
  EXPECT_EQ(parseError("a/\xff"), "must be valid UTF-8");
  EXPECT_EQ(parseError(std::string(kMaxTopicBytes + 1, 'a')),
            "is 65536 bytes long; MQTT allows at most 65535");
}

TEST(TopicTemplate, AsFilterCoversEveryTopicItCanProduce) {
  EXPECT_EQ(templateAsFilter("f/{1}/x/{2-#}"), "f/+/x/#");
  EXPECT_EQ(templateAsFilter("f/x"), "f/x");
  EXPECT_EQ(templateAsFilter("mirror/{#}/x"), "mirror/#");
  EXPECT_EQ(templateAsFilter("a/p{1}q/b"), "a/+/b");
  EXPECT_EQ(templateAsFilter("x/{2-3}/y"), "x/+/+/y");  // a range spans as many levels
  EXPECT_EQ(templateAsFilter("x/{1}{2-4}"), "x/+/+/+");
  EXPECT_EQ(templateAsFilter("a/{{x}}/{1}"), "a/{x}/+");  // literal braces stay literal
  EXPECT_EQ(templateAsFilter("a/{{x}}"), "a/{x}");
  const std::string topic = "plant/line3/dev7/temp";
  for (const char* t : {"x/{2-3}/y", "a/p{1}q/b", "x/{1}{2-4}", "m/{#}", "a/{{x}}/{1}", "s"}) {
    EXPECT_TRUE(matches(templateAsFilter(t), resolve(t, topic))) << t;
  }
}

TEST(TopicTemplate, TargetErrorAndIsTemplateUseTheSameParser) {
  EXPECT_EQ(targetError("factory/{1}/{2-#}"), "");
  EXPECT_EQ(targetError("a/{{x}}/{1}"), "");
  EXPECT_EQ(targetError("a/{0}"), parseError("a/{0}"));
  EXPECT_TRUE(isTemplate("a/{1}"));
  EXPECT_FALSE(isTemplate("a/{{1}}"));
  EXPECT_FALSE(isTemplate("a/1"));
  EXPECT_FALSE(isTemplate("a/{x}"));  // not a valid template
}

}  // namespace
}  // namespace mqb::config::topic

#include <gtest/gtest.h>

#include "stages/common/json_path.h"

namespace mqb::stages::common {
namespace {

TEST(JsonPath, PointerAndDottedPathsFindTakeAndSet) {
  std::string err;
  auto doc = Json::parse(R"({"a":{"b/c":[10,{"d":1}]},"x.y":2})");
  auto p = JsonPath::parse("/a/b~1c/1/d", err);
  ASSERT_TRUE(p) << err;
  ASSERT_NE(p->find(doc), nullptr);
  EXPECT_EQ(*p->find(doc), 1);
  auto dotted = JsonPath::parse("a.b/c.0", err);
  EXPECT_EQ(*dotted->find(doc), 10);
  EXPECT_EQ(JsonPath::parse("/x.y", err)->find(doc)->get<int>(), 2);
  EXPECT_EQ(JsonPath::parse("x.y", err)->find(doc), nullptr);
  auto q = JsonPath::parse("n.m", err);
  EXPECT_TRUE(q->set(doc, 5));
  EXPECT_EQ(doc["n"]["m"], 5);
  EXPECT_EQ(q->take(doc), Json(5));
  EXPECT_FALSE(q->take(doc).has_value());
  const Json before = doc;
  EXPECT_FALSE(JsonPath::parse("a.b/c.0.z", err)->set(doc, 1));  // through the number 10
  EXPECT_FALSE(JsonPath::parse("a.b/c.7", err)->set(doc, 1));    // index out of range
  EXPECT_EQ(doc, before);
}

TEST(JsonPath, RejectsBadSyntax) {
  std::string err;
  EXPECT_FALSE(JsonPath::parse("", err));
  EXPECT_EQ(err, "a field path must not be empty");
  EXPECT_FALSE(JsonPath::parse("a.", err));
  EXPECT_FALSE(JsonPath::parse("/a~", err));
}

}  // namespace
}  // namespace mqb::stages::common

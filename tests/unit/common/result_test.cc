// common::Result: a value or the reason, never both.

#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace mqb::common {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) {
    return Error{std::to_string(n) + " is odd"};
  }
  return n / 2;
}

TEST(Result, HoldsTheValueOrTheReason) {
  const auto ok = half(8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 4);
  const auto bad = half(7);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "7 is odd");
}

TEST(Result, AStringValueIsNotMistakenForAnError) {
  const Result<std::string> value = std::string("a value");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "a value");
  const Result<std::string> failed = Error{"a reason"};
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), "a reason");
}

TEST(Result, MovesOutAMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = *std::move(r);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 3);
}

TEST(Status, IsOkOrCarriesTheReason) {
  const Status fine;
  EXPECT_TRUE(fine.ok());
  const Status failed = Error{"disk full"};
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error(), "disk full");
}

}  // namespace
}  // namespace mqb::common

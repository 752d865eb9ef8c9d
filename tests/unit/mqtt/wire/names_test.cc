// mqtt/wire/names: reason codes as snake_case names (metric labels, log fields).

#include <gtest/gtest.h>

#include "mqtt/wire/codec.h"  // reasonName(), defined in mqtt/wire/names.cc

namespace mqb::mqtt::wire {
namespace {

TEST(ReasonName, IsSnakeCaseForLabels) {
  EXPECT_EQ(reasonName(0x87), "not_authorized");
  EXPECT_EQ(reasonName(0x86), "bad_user_name_or_password");
  EXPECT_EQ(reasonName(0x85), "client_identifier_not_valid");
}

}  // namespace
}  // namespace mqb::mqtt::wire

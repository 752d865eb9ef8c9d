// libFuzzer target: what a managed-identity token endpoint answers (mqtt/auth/token_response.h):
// the input as a JSON token response body and as a WWW-Authenticate challenge. An accepted token
// is 1..16 KiB of printable ASCII with a lifetime of at least 0; a challenge's path is non-empty
// and holds no NUL.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/auth/token_response.h"
#include "tests/fuzz/fuzz_check.h"

using mqb::fuzz::check;
using namespace mqb::mqtt::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::int64_t now : {std::int64_t{0}, std::int64_t{1765000000}, INT64_MAX / 2}) {
    std::string error;
    const auto t = parseTokenResponse(in, now, error);
    if (t) {
      check(!t->value.empty() && t->value.size() <= kMaxTokenBytes && t->validSeconds >= 0);
      for (char c : t->value) {
        check(c > 0x20 && c < 0x7f);
      }
      check(in.find(t->value) != std::string_view::npos || in.find('\\') != std::string_view::npos);
    } else {
      check(!error.empty());
    }
  }
  if (const auto path = parseArcChallenge(in)) {
    check(!path->empty() && path->find('\0') == std::string::npos && path->size() <= in.size());
  }
  return 0;
}

// libFuzzer target: a proxy's answers (mqtt/wire/proxy.h) on arbitrary bytes. The input is
// checked as an HTTP CONNECT response head (a status is reported only with a well-formed status
// line, success only for 2xx) and as the start of a SOCKS5 reply (a size only for version 5 with
// a success code, and never less than the bytes it was computed from).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/wire/proxy.h"
#include "tests/fuzz/fuzz_check.h"

using mqb::fuzz::check;
using namespace mqb::mqtt::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  int status = -1;
  std::string why;
  const bool ok = checkProxyResponse(in, status, why);
  check(status == 0 || (status >= 100 && status <= 599));
  check(!ok || (status >= 200 && status <= 299));
  check(ok || !why.empty());
  check(why.size() < 1024);
  std::string swhy;
  const long n = socks5ReplySize(in.substr(0, std::min<std::size_t>(in.size(), 5)), swhy);
  if (n > 0) {
    check(in.size() >= 5 && in[0] == 5 && in[1] == 0 && in[2] == 0);
    check(n >= 7 && n <= 4 + 1 + 255 + 2);
  }
  check(n >= 0 || !swhy.empty());
  return 0;
}

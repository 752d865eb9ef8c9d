// libFuzzer target: the WebSocket side of MQTT over WebSocket (mqtt/wire/websocket.h) on
// arbitrary server bytes. The framer is fed the input twice, whole and in chunks whose sizes come
// from the input, taking payload straight into the output where the framer allows it (as the
// transport does); both runs must deliver the same bytes and end the same way, never more bytes
// than came in, and at most one pending pong of at most 125 bytes. The input is also checked as
// an upgrade response head.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/wire/websocket.h"
#include "tests/fuzz/fuzz_check.h"

using mqb::fuzz::check;
using namespace mqb::mqtt::wire;

namespace {

struct Run {
  std::string out;
  WebSocketFramer::Status end = WebSocketFramer::Status::NeedMore;
  std::string error;
};

Run run(std::string_view in, std::uint64_t rng) {
  Run r;
  WebSocketFramer f;
  std::size_t at = 0;
  while (at < in.size() && r.end == WebSocketFramer::Status::NeedMore) {
    std::size_t n = in.size() - at;
    if (rng != 0) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      n = std::min<std::size_t>(n, 1 + rng % 64);
    }
    if (const std::uint64_t direct = f.directPayload(); direct > 0) {
      // Mid-frame with nothing buffered: the bytes are payload, taken directly.
      const std::size_t d = static_cast<std::size_t>(std::min<std::uint64_t>(direct, n));
      r.out.append(in.data() + at, d);
      f.tookDirect(d);
      at += d;
      continue;
    }
    f.feed(in.data() + at, n);
    at += n;
    std::size_t delivered = 0;
    const std::size_t before = r.out.size();
    r.end = f.parse(r.out, delivered);
    check(r.out.size() - before == delivered);
    std::string pong;
    if (f.takePong(pong)) {
      check(pong.size() <= 125);
      check(!f.takePong(pong));
    }
    check(f.buffered() <= in.size());
  }
  if (r.end == WebSocketFramer::Status::Error) {
    check(!f.error().empty());
    r.error = f.error();
    std::size_t delivered = 0;
    check(f.parse(r.out, delivered) == WebSocketFramer::Status::Error && delivered == 0);
  }
  if (r.end == WebSocketFramer::Status::Closed) {
    check(!f.closeText().empty());
    check(f.closeCode() == 0 || (f.closeCode() >= 1000 && f.closeCode() <= 4999));
  }
  check(r.out.size() <= in.size());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::uint64_t h = 1469598103934665603ull;
  for (char c : in) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  const Run whole = run(in, 0);
  const Run chunked = run(in, h | 1);
  // What precedes the end is the same whichever way it came; the end itself too.
  check(whole.end == chunked.end && whole.error == chunked.error && whole.out == chunked.out);

  std::string why;
  if (checkUpgradeResponse(in, "dGhlIHNhbXBsZSBub25jZQ==", why)) {
    check(in.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string_view::npos);
  } else {
    check(!why.empty() || in.empty());
  }
  return 0;
}

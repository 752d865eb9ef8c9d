#include "stages/set_properties/set_properties.h"

#include <algorithm>

namespace mqb::stages::set_properties {

bool isUtf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) {
      return false;
    }
    for (std::size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

void apply(const SetPropertiesConfig& spec, pipeline::Properties& props) {
  auto& user = props.user;
  if (!spec.remove.empty()) {
    std::erase_if(user, [&](const pipeline::UserProperty& p) {
      return std::find(spec.remove.begin(), spec.remove.end(), p.key) != spec.remove.end();
    });
  }
  for (const auto& e : spec.edits) {
    if (e.mode == Mode::Add) {
      user.push_back({e.name, e.value});
      continue;
    }
    auto first = std::find_if(user.begin(), user.end(),
                              [&](const pipeline::UserProperty& p) { return p.key == e.name; });
    if (first == user.end()) {
      user.push_back({e.name, e.value});
      continue;
    }
    first->value = e.value;
    user.erase(std::remove_if(first + 1, user.end(),
                              [&](const pipeline::UserProperty& p) { return p.key == e.name; }),
               user.end());
  }
  if (spec.contentType) {
    props.contentType = spec.contentType;
  }
  if (spec.payloadFormat) {
    props.payloadFormat = spec.payloadFormat;
  }
}

void SetPropertiesStage::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  if (spec_->payloadFormat == 1 && !isUtf8(msg.payload)) {
    if (spec_->onError == common::OnError::Pass) {
      out.emit(std::move(msg));
    } else {
      common::drop(msg, counters_, metrics::DropReason::StageError);
    }
    return;
  }
  try {
    apply(*spec_, msg.props);
  } catch (...) {  // allocation failure: the message may be half-changed, do not forward it
    common::drop(msg, counters_, metrics::DropReason::StageError);
    return;
  }
  out.emit(std::move(msg));
}

}  // namespace mqb::stages::set_properties

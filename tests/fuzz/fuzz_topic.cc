// libFuzzer target: MQTT topic names/filters (config/topic.h) and topic_rewrite templates
// (stages/topic_rewrite). Input: "<filter or template>\n<topic>". Checks, besides no crash (ASan,
// UBSan): a valid name is a valid filter that matches itself; a matching filter is valid; a
// template that compiles resolves without crashing and, when it resolves, to a valid topic
// name unless the template's literals are themselves invalid.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/topic.h"
#include "config/topic_template.h"

namespace topic = mqb::config::topic;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  const std::string_view first = in.substr(0, nl);
  const std::string_view second = nl == std::string_view::npos ? in : in.substr(nl + 1);

  const bool filterOk = topic::filterError(first).empty();
  const bool nameOk = topic::nameError(second).empty();
  (void)topic::targetError(first);
  (void)topic::isTemplate(first);
  (void)topic::encodingError(second);
  if (nameOk) {
    if (!topic::filterError(second).empty()) {
      __builtin_trap();  // a topic name is always a valid filter
    }
    if (!topic::matches(second, second)) {
      __builtin_trap();  // ... that matches itself
    }
  }
  if (filterOk && nameOk) {
    (void)topic::matches(first, second);
  }

  std::string error;
  if (auto t = mqb::config::topic::parseTemplate(first, error)) {
    std::string out;
    (void)t->resolve(second, out);
    (void)t->isStatic();
  } else if (error.empty()) {
    __builtin_trap();  // refused without a reason
  }
  return 0;
}

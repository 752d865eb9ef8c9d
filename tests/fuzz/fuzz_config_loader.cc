// libFuzzer target: the configuration loader on arbitrary bytes (YAML text of MqttBridgeConnector
// / MqttBridgeTopicMap resources). It must never crash or throw, every outcome is either a
// configuration or at least one error, and every diagnostic formats. ${env:NAME} references see a
// fixed environment (so runs repeat): PREFIX, SITE and EMPTY expand to valid text, BAD to a
// wildcard that fails the checks after expansion, anything else is unset.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/diagnostics.h"
#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mqb::config::LoadOptions o;
  o.checkFiles = false;
  o.environment = [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> vars = {
        {"PREFIX", "site-"}, {"SITE", "berlin/line-1"}, {"EMPTY", ""}, {"BAD", "a#"}};
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const mqb::config::LoadResult r = mqb::config::loadText(text, "fuzz.yaml", o);
  if (!r.ok() && r.diagnostics.errorCount() == 0) {
    __builtin_trap();  // rejected without saying why
  }
  if (r.ok() && r.diagnostics.errorCount() != 0) {
    __builtin_trap();  // accepted despite an error
  }
  std::size_t total = 0;
  for (const auto& d : r.diagnostics.sorted()) {
    total += mqb::config::format(d).size();
  }
  return total == SIZE_MAX ? 1 : 0;
}

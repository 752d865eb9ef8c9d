#include "config/env_refs.h"

#include <cstdlib>

#include "config/loader_parts.h"

namespace mqb::config {
namespace {

constexpr std::string_view kOpen = "${";
constexpr std::string_view kEnvPrefix = "env:";

bool nameStart(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool nameChar(char c) noexcept { return nameStart(c) || (c >= '0' && c <= '9'); }

bool validName(std::string_view n) noexcept {
  if (n.empty() || !nameStart(n[0])) {
    return false;
  }
  for (char c : n) {
    if (!nameChar(c)) {
      return false;
    }
  }
  return true;
}

std::string at(std::size_t pos) { return " at column " + std::to_string(pos + 1); }

/// The variable named by the reference that starts at `pos` (value[pos..] is "${"), and the
/// position after its '}'; nullopt (error set) if the reference is malformed.
std::optional<std::string_view> referenceName(std::string_view value, std::size_t pos,
                                              std::size_t& end, std::string& error) {
  const std::size_t close = value.find('}', pos + kOpen.size());
  if (close == std::string_view::npos) {
    error = "unterminated reference \"" + std::string(value.substr(pos)) + "\"" + at(pos) +
            " (write $${ for a literal ${)";
    return std::nullopt;
  }
  const std::string_view ref = value.substr(pos, close + 1 - pos);
  const std::string_view inner = value.substr(pos + kOpen.size(), close - pos - kOpen.size());
  if (inner.substr(0, kEnvPrefix.size()) != kEnvPrefix) {
    error = "unsupported reference \"" + std::string(ref) + "\"" + at(pos) +
            ": only ${env:NAME} is supported (write $${ for a literal ${)";
    return std::nullopt;
  }
  const std::string_view name = inner.substr(kEnvPrefix.size());
  if (!validName(name)) {
    error = "invalid variable name in \"" + std::string(ref) + "\"" + at(pos) +
            ": letters, digits and _, not starting with a digit";
    return std::nullopt;
  }
  end = close + 1;
  return name;
}

}  // namespace

Environment processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  };
}

bool hasEnvReference(std::string_view value) noexcept {
  return value.find(kOpen) != std::string_view::npos;
}

std::optional<std::string> expandEnv(std::string_view value, const Environment& env,
                                     std::string& error) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const std::size_t pos = value.find('$', i);
    if (pos == std::string_view::npos) {
      break;
    }
    out.append(value.substr(i, pos - i));
    if (value.substr(pos, 3) == "$${") {
      out.append(kOpen);
      i = pos + 3;
      continue;
    }
    if (value.substr(pos, kOpen.size()) != kOpen) {
      out += '$';
      i = pos + 1;
      continue;
    }
    std::size_t end = 0;
    const auto name = referenceName(value, pos, end, error);
    if (!name) {
      return std::nullopt;
    }
    const auto v = env(std::string(*name));
    if (!v) {
      error = "environment variable " + std::string(*name) + " is not set (\"" +
              std::string(value.substr(pos, end - pos)) + "\"" + at(pos) + ")";
      return std::nullopt;
    }
    out.append(*v);
    i = end;
  }
  out.append(value.substr(std::min(i, value.size())));
  return out;
}

namespace detail {
namespace {

/// Expands `value` in place; false (reported at `where`/`path`) if it cannot be expanded.
bool expandField(std::string& value, const Location& where, const std::string& path,
                 const Environment& env, Diagnostics& diag) {
  std::string error;
  auto expanded = expandEnv(value, env, error);
  if (!expanded) {
    diag.error(where, path, error);
    return false;
  }
  value = std::move(*expanded);
  return true;
}

}  // namespace

void expandEnvReferences(BridgeConfig& config, const Environment& env, Diagnostics& diag) {
  for (auto& c : config.connectors) {
    if (hasEnvReference(c.clientIdPrefix) &&
        expandField(c.clientIdPrefix, c.clientIdPrefixWhere, "spec.clientIdPrefix", env, diag)) {
      checkClientIdPrefix(c.clientIdPrefix, c.clientIdPrefixWhere, "spec.clientIdPrefix", diag);
    }
  }
  for (auto& t : config.topicMaps) {
    for (auto& r : t.routes) {
      if (hasEnvReference(r.source) &&
          expandField(r.source, r.sourceWhere, r.path + ".source", env, diag)) {
        checkSource(r.source, r.sourceWhere, r.path + ".source", diag);
      }
      if (r.target && hasEnvReference(*r.target) &&
          expandField(*r.target, r.targetWhere, r.path + ".target", env, diag)) {
        checkTarget(*r.target, r.targetWhere, r.path + ".target", diag);
      }
    }
  }
}

}  // namespace detail
}  // namespace mqb::config

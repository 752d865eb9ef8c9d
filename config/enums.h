#pragma once
// The YAML names of the model's enumerations (config/model.h), each written once: the loader
// reads them (readEnum), the schema lists them and names its defaults with them (enumValues,
// enumName), and so do the CRDs generated from it.
//
//   readEnum<Direction>(f, "direction", true)      // "remote-to-local" -> Direction::RemoteToLocal
//   enumValues<RetainPolicy>() == {"keep", "never"}
//   enumName(LogLevel::Info) == "info"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/fields.h"
#include "config/model.h"

namespace mqb::config {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

// One table per enumeration, in the order the schema lists the names; found by argument-dependent
// lookup as enumNames(E{}).

constexpr std::array<EnumName<MqttVersion>, 2> enumNames(MqttVersion) {
  return {{{MqttVersion::V5, "v5"}, {MqttVersion::V3, "v3"}}};
}
constexpr std::array<EnumName<Transport>, 2> enumNames(Transport) {
  return {{{Transport::Mqtt, "mqtt"}, {Transport::WebSocket, "webSocket"}}};
}
constexpr std::array<EnumName<Direction>, 2> enumNames(Direction) {
  return {{{Direction::RemoteToLocal, "remote-to-local"},
           {Direction::LocalToRemote, "local-to-remote"}}};
}
constexpr std::array<EnumName<LogLevel>, 4> enumNames(LogLevel) {
  return {{{LogLevel::Debug, "debug"},
           {LogLevel::Info, "info"},
           {LogLevel::Warn, "warn"},
           {LogLevel::Error, "error"}}};
}
constexpr std::array<EnumName<RetainPolicy>, 2> enumNames(RetainPolicy) {
  return {{{RetainPolicy::Keep, "keep"}, {RetainPolicy::Never, "never"}}};
}
constexpr std::array<EnumName<SpoolSpec::Overflow>, 3> enumNames(SpoolSpec::Overflow) {
  return {{{SpoolSpec::Overflow::Block, "block"},
           {SpoolSpec::Overflow::DropOldest, "drop_oldest"},
           {SpoolSpec::Overflow::DropNewest, "drop_newest"}}};
}
constexpr std::array<EnumName<SpoolSpec::Fsync>, 3> enumNames(SpoolSpec::Fsync) {
  return {{{SpoolSpec::Fsync::Always, "always"},
           {SpoolSpec::Fsync::Interval, "interval"},
           {SpoolSpec::Fsync::Never, "never"}}};
}

/// `image.pullPolicy` (a string in the model: the bridge does not act on it).
inline std::vector<std::string> pullPolicies() { return {"Always", "IfNotPresent", "Never"}; }

/// The YAML names of E, in schema order.
template <class E>
std::vector<std::string> enumValues() {
  std::vector<std::string> out;
  for (const auto& n : enumNames(E{})) {
    out.emplace_back(n.name);
  }
  return out;
}

/// The YAML name of `value`.
template <class E>
std::string enumName(E value) {
  for (const auto& n : enumNames(E{})) {
    if (n.value == value) {
      return std::string(n.name);
    }
  }
  return {};
}

/// Reads `key` of `f` as one of E's names, with Fields::enumeration()'s messages.
template <class E>
std::optional<E> readEnum(Fields& f, std::string_view key, bool required = false) {
  const std::optional<std::string> s = f.enumeration(key, enumValues<E>(), required);
  if (s) {
    for (const auto& n : enumNames(E{})) {
      if (n.name == *s) {
        return n.value;
      }
    }
  }
  return std::nullopt;
}

}  // namespace mqb::config

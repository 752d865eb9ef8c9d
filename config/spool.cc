#include "config/spool.h"

#include "config/enums.h"

namespace mqb::config {

SpoolSettings effectiveSpool(const ConnectorSpec& connector, const RouteSpec& route) {
  SpoolSettings s;
  for (const std::optional<SpoolSpec>* sp : {&connector.spool, &route.spool}) {
    if (!sp->has_value()) {
      continue;
    }
    const SpoolSpec& v = **sp;
    s.maxBytes = v.maxBytes.value_or(s.maxBytes);
    s.maxMessages = v.maxMessages.value_or(s.maxMessages);
    s.overflow = v.overflow.value_or(s.overflow);
    s.fsync = v.fsync.value_or(s.fsync);
    s.fsyncIntervalMs = v.fsyncIntervalMs.value_or(s.fsyncIntervalMs);
  }
  return s;
}

std::optional<SpoolSpec> readSpool(Fields& parent, std::string_view key) {
  YAML::Node n = parent.mapping(key);
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  Fields f(n, parent.file(), parent.pathOf(key), parent.diag());
  SpoolSpec sp;
  sp.where = f.location();
  const auto maxBytes = f.integer("maxBytes", false, 0);
  const auto maxMessages = f.integer("maxMessages", false, 0);
  sp.overflow = readEnum<SpoolSpec::Overflow>(f, "overflow");
  sp.fsync = readEnum<SpoolSpec::Fsync>(f, "fsync");
  sp.fsyncIntervalMs = f.integer("fsyncIntervalMs", false, 1, 3600000);
  f.finish();
  if (!f.ok()) {
    return std::nullopt;
  }
  if (maxBytes) {
    sp.maxBytes = static_cast<std::uint64_t>(*maxBytes);
  }
  if (maxMessages) {
    sp.maxMessages = static_cast<std::uint64_t>(*maxMessages);
  }
  if (sp.fsyncIntervalMs && sp.fsync && *sp.fsync != SpoolSpec::Fsync::Interval) {
    f.error("fsyncIntervalMs", "only meaningful with fsync: interval");
  }
  return sp;
}

}  // namespace mqb::config

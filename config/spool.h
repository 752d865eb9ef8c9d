#pragma once
// The durable spool extension of QoS 1 routes: a connector's and a route's `spool` mappings, and
// the settings a route branch's spool runs with. The defaults are defined here (SpoolSettings) and
// nowhere else: the schema, and so the CRDs, take them from it.

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/fields.h"
#include "config/model.h"

namespace mqb::config {

/// The settings of one route's spool, every field resolved.
struct SpoolSettings {
  std::uint64_t maxBytes = std::uint64_t{1} << 30;  ///< most bytes per branch; 0 = no limit
  std::uint64_t maxMessages = 0;                    ///< most messages per branch; 0 = no limit
  SpoolSpec::Overflow overflow = SpoolSpec::Overflow::Block;
  SpoolSpec::Fsync fsync = SpoolSpec::Fsync::Interval;
  std::int64_t fsyncIntervalMs = 100;  ///< with Fsync::Interval
};

/// `route`'s spool settings: each field from the route's `spool`, else its connector's, else the
/// SpoolSettings default.
SpoolSettings effectiveSpool(const ConnectorSpec& connector, const RouteSpec& route);

/// The optional mapping `key` of `parent` (a connector's or a route's `spool`): maxBytes and
/// maxMessages >= 0, overflow, fsync, fsyncIntervalMs 1..3600000 and only with fsync: interval.
/// nullopt when absent or not a mapping; problems go to `parent`'s diagnostics.
std::optional<SpoolSpec> readSpool(Fields& parent, std::string_view key);

}  // namespace mqb::config

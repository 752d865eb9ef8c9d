#pragma once
// Which of a configuration's bridge instances this process is.

#include <optional>
#include <string>

#include "app/runtime/options.h"
#include "common/result.h"
#include "config/model.h"

namespace mqb::app {

/// "name-3" -> 3 (a StatefulSet pod's ordinal); -1 if the name does not end in -<digits>.
int ordinalOfHostname(const std::string& hostname);

struct Instance {
  int index = 0;
  std::string source;  ///< how it was chosen, for the log
};

/// --instance-index, else MQBRIDGE_INSTANCE_INDEX, else the StatefulSet ordinal in the hostname
/// when some connector runs more than one instance and the ordinal is one of them, else 0.
/// Fails for a negative index.
common::Result<Instance> chooseInstance(const RunOptions& o, const config::BridgeConfig& cfg);

}  // namespace mqb::app

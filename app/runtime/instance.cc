#include "app/runtime/instance.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace mqb::app {

int ordinalOfHostname(const std::string& hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string::npos || dash + 1 == hostname.size()) {
    return -1;
  }
  int v = 0;
  for (std::size_t i = dash + 1; i < hostname.size(); ++i) {
    const char ch = hostname[i];
    if (ch < '0' || ch > '9' || v > 100000) {
      return -1;
    }
    v = v * 10 + (ch - '0');
  }
  return v;
}

common::Result<Instance> chooseInstance(const RunOptions& o, const config::BridgeConfig& cfg) {
  Instance in;
  if (o.instanceIndex) {
    in.index = *o.instanceIndex;
    in.source = "--instance-index";
  } else if (const char* env = std::getenv("MQBRIDGE_INSTANCE_INDEX"); env && *env) {
    in.index = std::atoi(env);
    in.source = "MQBRIDGE_INSTANCE_INDEX";
  } else {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    int maxInstances = 1;
    for (const auto& c : cfg.connectors) {
      maxInstances = std::max(maxInstances, c.bridgeInstances);
    }
    const int ord = ordinalOfHostname(host);
    if (maxInstances > 1 && ord >= 0 && ord < maxInstances) {
      in.index = ord;
      in.source = std::string("hostname ") + host;
    } else {
      in.source = "default";
    }
  }
  if (in.index < 0) {
    return common::Error{"the instance index must be >= 0"};
  }
  return in;
}

}  // namespace mqb::app

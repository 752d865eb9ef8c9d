#include "app/commands/command.h"

namespace mqb::app {

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"run", "load the configuration and bridge until SIGINT/SIGTERM", runMain},
      {"validate", "check the configuration and print the plan (exit 0) or every problem (exit 1)",
       validateMain},
      {"loadtest",
       "drive one route's pipeline with synthetic messages and report throughput/latency",
       loadtestMain},
      {"test", "run route behaviour files (routes plus `tests:`) without brokers", testMain},
      {"deadletter", "list, replay or delete the messages routes set aside (list|replay|delete)",
       deadLetterMain},
      {"operator",
       "run the Kubernetes operator: per MqttBridgeConnector, a StatefulSet of its instances, "
       "Services and status",
       operatorMain},
      {"crds", nullptr, crdsMain},  // a packaging helper
  };
  return all;
}

}  // namespace mqb::app

// mqbridge: MQTT bridge connector. See `mqbridge --help`; the commands are in app/commands/.

#include <iostream>
#include <string>
#include <vector>

#include "app/commands/command.h"
#include "app/version.h"

namespace {

void printUsage(std::ostream& out) {
  out << "usage: mqbridge <command> [options]\n\n"
         "Bridges MQTT brokers as configured by MqttBridgeConnector and MqttBridgeTopicMap "
         "resources\n(mq.iotoperations.azure.com/v1beta1).\n\ncommands:\n";
  for (const auto& c : mqb::app::commands()) {
    if (c.summary != nullptr) {
      out << "  " << c.name << std::string(11 - std::string(c.name).size(), ' ') << c.summary
          << '\n';
    }
  }
  out << "  version    print the version\n\n"
         "`mqbridge <command> --help` lists the options of a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    printUsage(std::cerr);
    return 2;
  }
  const std::string name = args.front();
  args.erase(args.begin());
  if (name == "--help" || name == "-h" || name == "help") {
    printUsage(std::cout);
    return 0;
  }
  if (name == "version" || name == "--version") {
    std::cout << "mqbridge " << mqb::app::kVersion << " (" << mqb::app::kGitRevision << ")\n";
    return 0;
  }
  for (const auto& c : mqb::app::commands()) {
    if (name == c.name) {
      return c.main(args);
    }
  }
  std::cerr << "mqbridge: unknown command '" << name << "'\n\n";
  printUsage(std::cerr);
  return 2;
}

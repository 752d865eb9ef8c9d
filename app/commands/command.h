#pragma once
// The subcommands of `mqbridge`. Each file in app/commands/ is one command: its options, their
// parsing and what it does. main.cc looks the name up in commands() and hands the command the
// arguments after its name; the return value is the exit code.

#include <string>
#include <vector>

namespace mqb::app {

struct Command {
  const char* name;
  const char* summary;  ///< one line in `mqbridge --help`; nullptr: not listed
  int (*main)(const std::vector<std::string>& args);
};

/// Every command, in the order `mqbridge --help` lists them.
const std::vector<Command>& commands();

int runMain(const std::vector<std::string>& args);
int validateMain(const std::vector<std::string>& args);
int loadtestMain(const std::vector<std::string>& args);
int testMain(const std::vector<std::string>& args);
int deadLetterMain(const std::vector<std::string>& args);
int crdsMain(const std::vector<std::string>& args);
int operatorMain(const std::vector<std::string>& args);

}  // namespace mqb::app

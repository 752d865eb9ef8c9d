#pragma once
// Command-line parsing shared by the subcommands (Boost.Program_options).

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

#include "app/runtime/options.h"

namespace mqb::app {

/// The arguments after the command name.
using Args = std::vector<std::string>;

/// Adds -c/--config and the secret, ConfigMap, token and key directories to `d`. `required`:
/// at least one -c must be given.
void addConfigOptions(boost::program_options::options_description& d, ConfigOptions& c,
                      bool required = true);

/// Parses `args` for command `cmd` into `vm` (and the values `d` binds), adding --help. Returns
/// an exit code when the command must not run: 0 after printing the help, 2 after printing a
/// usage error on stderr.
std::optional<int> parseCommandLine(
    const std::string& cmd, const Args& args, boost::program_options::options_description& d,
    const boost::program_options::positional_options_description* pos,
    boost::program_options::variables_map& vm);

}  // namespace mqb::app

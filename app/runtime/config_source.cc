#include "app/runtime/config_source.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vector>

#include "app/runtime/config_load.h"
#include "common/log.h"
#include "pipeline/registry.h"

namespace mqb::app {

namespace fs = std::filesystem;

ConfigSource::ConfigSource(const RunOptions& o) : options_(o) {}

ConfigSource::~ConfigSource() = default;

common::Status ConfigSource::start() {
  if (!kubeModeWanted(options_)) {
    return {};
  }
  // A watch event raises SIGHUP: the bridge's main loop reloads at once.
  kube_ = std::make_unique<config::kube::Source>(options_.kubeOptions, options_.kubeConnector,
                                                 [] { ::kill(::getpid(), SIGHUP); });
  return kube_->start();
}

std::string ConfigSource::stamp() const {
  if (kube_) {
    return kube_->stamp();  // changes with every watch event
  }
  // Names, sizes and modification times of every configuration file: a change triggers a reload.
  std::ostringstream os;
  for (const auto& p : options_.config.configPaths) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p, ec)) {
        files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.emplace_back(p);
    }
    for (const auto& f : files) {
      const auto t = fs::last_write_time(f, ec);
      const auto size = ec ? 0 : fs::file_size(f, ec);
      os << f.string() << ':' << size << ':' << (ec ? 0 : t.time_since_epoch().count()) << '\n';
    }
  }
  return os.str();
}

std::optional<config::BridgeConfig> ConfigSource::load(bool initial) {
  config::Diagnostics diag;
  // From the API server as from files: a connector's stagePlugins are loaded before the stages of
  // its routes are validated.
  const auto validate = [](const config::BridgeConfig& c, config::Diagnostics& d) {
    loadStagePlugins(c, pipeline::Registry::builtin(), d);
    validateRouteStages(c, d);
  };
  auto cfg = kube_
                 ? std::optional(kube_->load(loadOptionsOf(options_.config, true), validate, diag))
                 : loadConfig(options_.config, /*checkFiles=*/true, diag);
  for (const auto& d : diag.sorted()) {
    const std::string text = config::format(d);
    if (d.severity == config::Severity::Error) {
      log::error("config_error", {{"detail", text}});
    } else {
      log::warn("config_warning", {{"detail", text}});
    }
  }
  if (!cfg) {
    if (initial) {
      diag.print(std::cerr);
    }
    log::error(initial ? "config_invalid" : "reload_rejected",
               {{"errors", diag.errorCount()},
                {"action", initial ? "exit" : "keeping the running configuration"}});
  }
  return cfg;
}

}  // namespace mqb::app

// mqbridge deadletter list|replay|delete: what the routes set aside (deadletter/store.h), read
// from the state directory while the bridge runs or not.

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "app/runtime/client_options.h"
#include "app/runtime/config_load.h"
#include "common/files.h"
#include "common/text.h"
#include "config/plan.h"
#include "deadletter/store.h"
#include "mqtt/client.h"
#include "mqtt/wire/utf8.h"

namespace mqb::app {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

/// `deadletter list|replay|delete`.
struct DeadLetterOptions {
  std::string action;    ///< list | replay | delete
  ConfigOptions config;  ///< replay: where the routes' targets are
  std::string stateDir = "/var/lib/mqbridge";
  std::string connector;  ///< filters; empty = all
  std::string route;
  std::string id;
  std::string topic;  ///< replay: publish on this topic instead of the recorded one
  bool all = false;   ///< delete: every record matching the filters
  bool json = false;  ///< list: one JSON object per line
  int timeoutSeconds = 10;
};

/// A route's dead-letter directory found under the state directory.
struct Found {
  std::string dir;
  std::vector<deadletter::Record> records;
};

/// Every dead-letter directory of `stateDir` (<state>/<connector>/<route>/deadletter) whose
/// records match the filters, records sorted by id. Unparsable files are reported on stderr.
std::vector<Found> collect(const DeadLetterOptions& o) {
  std::vector<Found> out;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& c : fs::directory_iterator(o.stateDir, ec)) {
    for (const auto& r : fs::directory_iterator(c.path(), ec)) {
      const fs::path d = r.path() / "deadletter";
      if (fs::is_directory(d, ec)) {
        dirs.push_back(d);
      }
    }
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    std::vector<std::string> bad;
    Found f{d.string(), {}};
    for (auto& rec : deadletter::list(f.dir, &bad)) {
      if ((o.connector.empty() || rec.connector == o.connector) &&
          (o.route.empty() || rec.route == o.route) && (o.id.empty() || rec.id == o.id)) {
        f.records.push_back(std::move(rec));
      }
    }
    for (const auto& b : bad) {
      std::cerr << "mqbridge deadletter: skipped " << b << '\n';
    }
    if (!f.records.empty()) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::string isoTime(std::int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

int list(const DeadLetterOptions& o) {
  const auto found = collect(o);
  std::size_t n = 0;
  for (const auto& f : found) {
    for (const auto& r : f.records) {
      ++n;
      if (o.json) {
        const nlohmann::json j = {{"id", r.id},
                                  {"time", isoTime(r.timeMs)},
                                  {"connector", r.connector},
                                  {"route", r.route},
                                  {"direction", r.direction},
                                  {"reason", r.reason},
                                  {"detail", r.detail},
                                  {"topic", common::printable(r.message.topic, 65535)},
                                  {"topic_valid", mqtt::wire::validTopicName(r.message.topic)},
                                  {"qos", r.message.qos},
                                  {"retain", r.message.retain},
                                  {"payload_bytes", r.message.payload.size()},
                                  {"file", f.dir + "/" + r.id + ".json"}};
        std::cout << j.dump() << '\n';
      } else {
        std::cout << r.id << "  " << isoTime(r.timeMs) << "  " << r.connector << '/' << r.route
                  << "  " << r.reason << "  topic=" << common::printable(r.message.topic)
                  << "  qos=" << static_cast<int>(r.message.qos)
                  << "  bytes=" << r.message.payload.size() << "  " << r.detail << '\n';
      }
    }
  }
  if (!o.json) {
    std::cerr << n << (n == 1 ? " dead letter" : " dead letters") << " under " << o.stateDir
              << '\n';
  }
  return 0;
}

/// Publishes records one at a time on one client and waits for each answer.
class Replayer final : private mqtt::ClientListener {
 public:
  explicit Replayer(mqtt::ClientOptions o) : client_(std::move(o), this) {}
  ~Replayer() override { client_.stop(); }
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  bool connect(std::chrono::seconds timeout) {
    client_.start();
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return connected_; });
  }

  /// Empty on success, else why not.
  std::string publish(const mqtt::Message& m, std::chrono::seconds timeout) {
    mqtt::Client::Publish p;
    p.topic = m.topic;
    p.payload = m.payload;
    p.qos = m.qos;
    p.retain = m.retain;
    p.props = m.props.empty() ? nullptr : &m.props;
    {
      std::lock_guard<std::mutex> lk(mu_);
      answered_ = false;
    }
    const auto rc = client_.publish(p, ++cookie_);
    if (rc != mqtt::Client::Send::Ok) {
      return "not sent (disconnected or busy)";
    }
    if (m.qos == 0) {
      return "";
    }
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return answered_ || !connected_; }) || !answered_) {
      return connected_ ? "no acknowledgement within the timeout" : "connection lost";
    }
    return code_ < 0x80 ? "" : "refused: " + mqtt::wire::reasonName(code_);
  }

 private:
  void onConnected(const mqtt::ConnectInfo&) noexcept override {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = true;
    cv_.notify_all();
  }
  void onConnectionLost(const mqtt::Failure&) noexcept override {
    std::lock_guard<std::mutex> lk(mu_);
    connected_ = false;
    cv_.notify_all();
  }
  void onPublished(std::uint64_t cookie, std::uint8_t code) noexcept override {
    std::lock_guard<std::mutex> lk(mu_);
    if (cookie == cookie_) {
      answered_ = true;
      code_ = code;
      cv_.notify_all();
    }
  }

  mqtt::Client client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false;
  bool answered_ = false;
  std::uint8_t code_ = 0;
  std::uint64_t cookie_ = 0;
};

int replay(const DeadLetterOptions& o) {
  config::Diagnostics diag;
  const auto cfg = loadConfig(o.config, /*checkFiles=*/false, diag);
  diag.print(std::cerr);
  if (!cfg) {
    return 1;
  }
  const auto timeout = std::chrono::seconds(std::max(1, o.timeoutSeconds));
  int replayed = 0;
  int failed = 0;
  int skipped = 0;
  for (const auto& f : collect(o)) {
    const std::string& connector = f.records.front().connector;
    const config::ConnectorSpec* c = cfg->connector(connector);
    const config::RouteSpec* route = nullptr;
    for (const auto& tm : cfg->topicMaps) {
      for (const auto& r : tm.routes) {
        if (tm.connectorRef == connector && r.name == f.records.front().route) {
          route = &r;
        }
      }
    }
    if (c == nullptr || route == nullptr) {
      std::cerr << "mqbridge deadletter: " << f.dir << ": connector " << connector << " route "
                << f.records.front().route << " is not in the configuration; skipped\n";
      skipped += static_cast<int>(f.records.size());
      continue;
    }
    const bool toRemote = route->direction == config::Direction::LocalToRemote;
    Replayer r(clientOptions(*c, toRemote ? c->remote : c->local,
                             c->clientIdPrefix + "deadletter-replay",
                             c->name + "/" + route->name + "/replay"));
    if (!r.connect(timeout)) {
      std::cerr << "mqbridge deadletter: cannot connect to the " << (toRemote ? "remote" : "local")
                << " broker of " << c->name << '\n';
      failed += static_cast<int>(f.records.size());
      continue;
    }
    for (const auto& rec : f.records) {
      mqtt::Message m = rec.message;
      if (!o.topic.empty()) {
        m.topic = o.topic;
      }
      if (!mqtt::wire::validTopicName(m.topic)) {
        std::cerr << rec.id << ": skipped: topic " << common::printable(m.topic)
                  << " is not a valid topic name (give --topic)\n";
        ++skipped;
        continue;
      }
      const std::string why = r.publish(m, timeout);
      if (!why.empty()) {
        std::cerr << rec.id << ": " << why << " (kept)\n";
        ++failed;
        continue;
      }
      std::string error;
      if (!deadletter::remove(f.dir, rec.id, error)) {
        std::cerr << rec.id << ": replayed, but " << error << '\n';
      }
      std::cout << rec.id << ": replayed to " << common::printable(m.topic) << '\n';
      ++replayed;
    }
  }
  std::cerr << "replayed " << replayed << ", failed " << failed << ", skipped " << skipped << '\n';
  return failed == 0 && skipped == 0 ? 0 : 1;
}

int remove(const DeadLetterOptions& o) {
  if (o.id.empty() && !o.all) {
    std::cerr << "mqbridge deadletter delete: give --id ID or --all\n";
    return 2;
  }
  int removed = 0;
  for (const auto& f : collect(o)) {
    for (const auto& rec : f.records) {
      std::string error;
      if (deadletter::remove(f.dir, rec.id, error)) {
        ++removed;
      } else {
        std::cerr << error << '\n';
      }
    }
  }
  std::cerr << "deleted " << removed << '\n';
  return 0;
}

int dispatch(const DeadLetterOptions& o) {
  if (o.action == "list") {
    return list(o);
  }
  if (o.action == "replay") {
    if (o.config.configPaths.empty()) {
      std::cerr << "mqbridge deadletter replay: give --config (where to publish to)\n";
      return 2;
    }
    return replay(o);
  }
  if (o.action == "delete") {
    return remove(o);
  }
  std::cerr << "mqbridge deadletter: unknown action \"" << o.action
            << "\" (list, replay or delete)\n";
  return 2;
}

}  // namespace

int deadLetterMain(const Args& args) {
  DeadLetterOptions o;
  po::options_description d("deadletter options");
  addConfigOptions(d, o.config, /*required=*/false);
  d.add_options()("action", po::value(&o.action)->required(), "list | replay | delete")(
      "state-dir", po::value(&o.stateDir)->default_value(o.stateDir), "the bridge's --state-dir")(
      "connector", po::value(&o.connector), "only this connector's routes")(
      "route", po::value(&o.route), "only this route")("id", po::value(&o.id), "only this record")(
      "topic", po::value(&o.topic), "replay: publish on this topic instead of the recorded one")(
      "all", po::bool_switch(&o.all), "delete: every record the filters select")(
      "json", po::bool_switch(&o.json), "list: one JSON object per line")(
      "timeout", po::value(&o.timeoutSeconds)->default_value(o.timeoutSeconds),
      "replay: seconds to wait for the connection and for each acknowledgement");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  if (auto rc = parseCommandLine("deadletter", args, d, &pos, vm)) {
    return *rc;
  }
  return dispatch(o);
}

}  // namespace mqb::app

// `mqbridge test FILE...`: route behaviour files, run through the route's stage chain without
// brokers. Format (docs/extending.md has the full description):
//
//   stages:                 # the route's custom stages, exactly as under spec.routes[].stages
//     - type: filter
//       json: {field: temp, op: ">", value: 30}
//   tests:
//     - name: hot readings pass
//       input:              # one or more messages, sent in order
//         - topic: plant/a/temp
//           json: {temp: 31}            # or payload: '<exact text>' or payloadHex: c328
//           userProperties: {site: a}   # or [{name: site, value: a}, ...]
//       expect:             # the messages that leave the chain, in order...
//         - topic: plant/a/temp         # only the fields given are compared
//           json: {temp: 31}
//     - name: cold readings are filtered
//       input: [{topic: plant/a/temp, json: {temp: 20}}]
//       expect: dropped     # ...or `dropped`: nothing leaves the chain
//       dropReason: filtered            # optional: filtered | stage_error | ...
//
// Prints one PASS/FAIL line per case (with the differences under a FAIL) and exits 1 if any case
// failed or any file is invalid.

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <charconv>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "config/fields.h"
#include "config/yaml_params.h"
#include "metrics/route_metrics.h"
#include "pipeline/plugin_loader.h"
#include "pipeline/registry.h"
#include "pipeline/route_counters.h"
#include "stages/common/config_util.h"
#include "stages/filter/config.h"
#include "stages/json_map/config.h"
#include "stages/set_properties/config.h"

namespace mqb::app {
namespace {

struct TestOptions {
  std::vector<std::string> files;
  std::vector<std::string> stagePlugins;  ///< --stage-plugin: stage plugins to load first
  bool verbose = false;
};

using pipeline::Message;

/// A message as written in a behaviour file. Optional fields are "not given".
struct MessageSpec {
  std::optional<std::string> topic;
  std::optional<std::string> payload;
  std::optional<nlohmann::json> json;
  std::optional<std::vector<pipeline::UserProperty>> userProperties;
  std::optional<std::string> contentType;
  std::optional<std::uint8_t> payloadFormat;
  std::optional<std::uint8_t> qos;
  std::optional<bool> retain;
};

struct Case {
  std::string name;
  int line = 0;
  std::vector<MessageSpec> input;
  bool expectDropped = false;
  std::vector<MessageSpec> expect;
  std::optional<std::string> dropReason;
};

std::optional<std::vector<pipeline::UserProperty>> readUserProperties(config::Fields& f) {
  const YAML::Node n = f.node("userProperties");
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  std::vector<pipeline::UserProperty> out;
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        f.diag().error(config::locationOf(kv.second, f.file()),
                       f.pathOf("userProperties") + "." + kv.first.Scalar(),
                       "expected a string value");
        continue;
      }
      out.push_back({kv.first.Scalar(), kv.second.Scalar()});
    }
    return out;
  }
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      config::Fields p(n[i], f.file(), f.pathOf("userProperties") + "[" + std::to_string(i) + "]",
                       f.diag());
      auto name = p.str("name", true);
      auto value = p.str("value", true);
      p.finish();
      if (name && value) {
        out.push_back({*name, *value});
      }
    }
    return out;
  }
  if (n.IsNull()) {
    return out;
  }
  f.error("userProperties", "expected a mapping of names to values or a list of {name, value}");
  return std::nullopt;
}

MessageSpec readMessage(const YAML::Node& n, const std::string& file, const std::string& path,
                        bool input, config::Diagnostics& diag) {
  MessageSpec m;
  config::Fields f(n, file, path, diag);
  if (!f.ok()) {
    return m;
  }
  m.topic = f.str("topic", input);
  m.payload = f.str("payload");
  if (auto hex = f.str("payloadHex")) {
    std::string bytes;
    bool good = hex->size() % 2 == 0;
    for (std::size_t i = 0; good && i < hex->size(); i += 2) {
      unsigned v = 0;
      const auto r = std::from_chars(hex->data() + i, hex->data() + i + 2, v, 16);
      good = r.ec == std::errc() && r.ptr == hex->data() + i + 2;
      bytes += static_cast<char>(v);
    }
    if (!good) {
      f.error("payloadHex", "expected an even number of hex digits, got \"" + *hex + "\"");
    } else if (m.payload) {
      f.error("payloadHex", "give either payload or payloadHex, not both");
    }
    m.payload = std::move(bytes);
  }
  if (YAML::Node j = f.node("json"); j.IsDefined()) {
    try {
      config::YamlParams value(j, f.file(), f.pathOf("json"), f.diag());
      m.json = nlohmann::json::parse(stages::common::toJson(value).dump());
    } catch (const nlohmann::json::exception& e) {
      f.error("json", std::string("cannot be represented as JSON: ") + e.what());
    }
    if (m.payload) {
      f.error("json", "give either payload (exact bytes) or json, not both");
    }
  }
  m.userProperties = readUserProperties(f);
  m.contentType = f.str("contentType");
  if (auto pf = f.enumeration("payloadFormat", {"bytes", "utf8"})) {
    m.payloadFormat = *pf == "utf8" ? 1 : 0;
  }
  if (auto q = f.integer("qos", false, 0, 1)) {
    m.qos = static_cast<std::uint8_t>(*q);
  }
  m.retain = f.boolean("retain");
  f.finish();
  return m;
}

std::vector<MessageSpec> readMessages(config::Fields& f, std::string_view key, bool input) {
  std::vector<MessageSpec> out;
  const YAML::Node n = f.sequence(key, true);
  for (std::size_t i = 0; n.IsDefined() && i < n.size(); ++i) {
    out.push_back(readMessage(n[i], f.file(), f.pathOf(key) + "[" + std::to_string(i) + "]", input,
                              f.diag()));
  }
  return out;
}

Message toMessage(const MessageSpec& s) {
  Message m;
  m.topic = s.topic.value_or("");
  m.payload = s.json ? s.json->dump() : s.payload.value_or("");
  m.qos = s.qos.value_or(1);
  m.retain = s.retain.value_or(false);
  if (s.userProperties) {
    m.props.user = *s.userProperties;
  }
  m.props.contentType = s.contentType;
  m.props.payloadFormat = s.payloadFormat;
  return m;
}

std::string quote(std::string_view s) {
  std::ostringstream os;
  os << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (c >= 0x20 && c < 0x7f) {
      os << c;
    } else if (c == '\n') {
      os << "\\n";
    } else {
      os << "\\x" << std::hex << std::setw(2) << std::setfill('0') << int(c) << std::dec;
    }
  }
  os << '"';
  return os.str();
}

std::string describe(const std::vector<pipeline::UserProperty>& props) {
  std::string s = "[";
  for (std::size_t i = 0; i < props.size(); ++i) {
    s += (i == 0 ? "" : ", ") + props[i].key + "=" + quote(props[i].value);
  }
  return s + "]";
}

std::string describe(const Message& m) {
  std::string s = "topic " + quote(m.topic) + " payload " + quote(m.payload);
  if (!m.props.user.empty()) {
    s += " userProperties " + describe(m.props.user);
  }
  if (m.props.contentType) {
    s += " contentType " + quote(*m.props.contentType);
  }
  return s;
}

/// Differences between what was expected and what came out, one line each.
void compare(const MessageSpec& e, const Message& m, const std::string& at,
             std::vector<std::string>& diffs) {
  auto diff = [&](const std::string& field, const std::string& want, const std::string& got) {
    diffs.push_back(at + "." + field + ": expected " + want + ", got " + got);
  };
  if (e.topic && *e.topic != m.topic) {
    diff("topic", quote(*e.topic), quote(m.topic));
  }
  if (e.payload && *e.payload != m.payload) {
    diff("payload", quote(*e.payload), quote(m.payload));
  }
  if (e.json) {
    const auto got = nlohmann::json::parse(m.payload, nullptr, false);
    if (got.is_discarded()) {
      diff("json", e.json->dump(), "a payload that is not JSON: " + quote(m.payload));
    } else if (got != *e.json) {
      diff("json", e.json->dump(), got.dump());
    }
  }
  if (e.userProperties && *e.userProperties != m.props.user) {
    diff("userProperties", describe(*e.userProperties), describe(m.props.user));
  }
  if (e.contentType && e.contentType != m.props.contentType) {
    diff("contentType", quote(*e.contentType),
         m.props.contentType ? quote(*m.props.contentType) : "none");
  }
  if (e.payloadFormat && e.payloadFormat != m.props.payloadFormat) {
    auto name = [](std::optional<std::uint8_t> v) {
      return !v ? std::string("none") : *v == 1 ? std::string("utf8") : std::string("bytes");
    };
    diff("payloadFormat", name(e.payloadFormat), name(m.props.payloadFormat));
  }
  if (e.qos && *e.qos != m.qos) {
    diff("qos", std::to_string(*e.qos), std::to_string(m.qos));
  }
  if (e.retain && *e.retain != m.retain) {
    diff("retain", *e.retain ? "true" : "false", m.retain ? "true" : "false");
  }
}

/// Connects stage i to stage i+1; the last one emits into `sink`.
class Link final : public pipeline::Emitter {
 public:
  Link(pipeline::Stage* next, pipeline::Emitter* after) : next_(next), after_(after) {}
  void emit(Message&& m) noexcept override { next_->process(std::move(m), *after_); }

 private:
  pipeline::Stage* next_;
  pipeline::Emitter* after_;
};

class Sink final : public pipeline::Emitter {
 public:
  std::vector<Message> out;
  void emit(Message&& m) noexcept override { out.push_back(std::move(m)); }
};

class Tracker final : public pipeline::DeliveryTracker {
 public:
  void settle(std::uint64_t, pipeline::Outcome) noexcept override {}
};

struct CaseMetrics {
  prometheus::Registry registry;
  metrics::RouteMetrics route;
  CaseMetrics() {
    auto& fam = prometheus::BuildCounter().Name("dropped").Help("-").Register(registry);
    for (std::size_t i = 0; i < route.dropped.size(); ++i) {
      route.dropped[i] = &fam.Add(
          {{"reason", std::string(metrics::toString(static_cast<metrics::DropReason>(i)))}});
    }
  }
  std::vector<std::string> reasons() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < route.dropped.size(); ++i) {
      if (route.dropped[i]->Value() > 0) {
        out.emplace_back(metrics::toString(static_cast<metrics::DropReason>(i)));
      }
    }
    return out;
  }
};

/// Runs one case; returns the difference lines (empty = pass).
std::vector<std::string> runCase(const Case& c, const std::vector<pipeline::ConfiguredStage>& chain,
                                 bool verbose, std::ostream& log) {
  CaseMetrics m;
  pipeline::ManualClock clock;
  pipeline::RouteCounters counters(&m.route);
  pipeline::StageContext ctx;
  ctx.clock = &clock;
  ctx.counters = &counters;
  std::vector<pipeline::StagePtr> stages;
  for (const auto& s : chain) {
    stages.push_back(s.factory->create(s.config, ctx));
  }
  Sink sink;
  std::vector<std::unique_ptr<Link>> links(stages.size());
  pipeline::Emitter* next = &sink;
  for (std::size_t i = stages.size(); i-- > 1;) {
    links[i] = std::make_unique<Link>(stages[i].get(), next);
    next = links[i].get();
  }
  Tracker tracker;
  std::uint64_t token = 0;
  for (const auto& in : c.input) {
    Message msg = toMessage(in);
    msg.completion = pipeline::Completion(&tracker, ++token);
    msg.received = clock.now();
    if (stages.empty()) {
      sink.emit(std::move(msg));
    } else {
      stages.front()->process(std::move(msg), *next);
    }
  }
  std::vector<std::string> diffs;
  if (c.expectDropped) {
    if (!sink.out.empty()) {
      diffs.push_back("expected every message to be dropped, got " +
                      std::to_string(sink.out.size()) + " out:");
      for (std::size_t i = 0; i < sink.out.size(); ++i) {
        diffs.push_back("  output[" + std::to_string(i) + "]: " + describe(sink.out[i]));
      }
    }
  } else {
    if (sink.out.size() != c.expect.size()) {
      diffs.push_back("expected " + std::to_string(c.expect.size()) + " message(s) out, got " +
                      std::to_string(sink.out.size()));
    }
    for (std::size_t i = 0; i < std::min(sink.out.size(), c.expect.size()); ++i) {
      compare(c.expect[i], sink.out[i], "output[" + std::to_string(i) + "]", diffs);
    }
    for (std::size_t i = c.expect.size(); i < sink.out.size(); ++i) {
      diffs.push_back("unexpected output[" + std::to_string(i) + "]: " + describe(sink.out[i]));
    }
  }
  const auto reasons = m.reasons();
  if (c.dropReason && std::find(reasons.begin(), reasons.end(), *c.dropReason) == reasons.end()) {
    std::string got;
    for (const auto& r : reasons) {
      got += (got.empty() ? "" : ", ") + r;
    }
    diffs.push_back("expected drops counted as " + *c.dropReason + ", got " +
                    (got.empty() ? "no drops" : got));
  }
  if (verbose) {
    for (std::size_t i = 0; i < sink.out.size(); ++i) {
      log << "    out[" << i << "]: " << describe(sink.out[i]) << '\n';
    }
    for (const auto& r : reasons) {
      log << "    dropped: " << r << '\n';
    }
  }
  return diffs;
}

struct Totals {
  int passed = 0;
  int failed = 0;
  int invalidFiles = 0;
};

/// The behaviour file's `stages:`, as a route's custom stages.
config::RouteSpec readStages(config::Fields& f, const YAML::Node& root, const std::string& file,
                             config::Diagnostics& diag) {
  config::RouteSpec route;
  route.name = "behaviour";
  route.path = "";
  route.where = config::locationOf(root, file);
  const YAML::Node stages = f.sequence("stages", true);
  for (std::size_t i = 0; stages.IsDefined() && i < stages.size(); ++i) {
    config::StageSpec s;
    s.params = stages[i];
    s.path = "stages[" + std::to_string(i) + "]";
    s.where = config::locationOf(stages[i], file);
    if (!stages[i].IsMap() || !stages[i]["type"] || !stages[i]["type"].IsScalar()) {
      diag.error(s.where, s.path + ".type", "required field is missing (expected a stage type)");
      continue;
    }
    s.type = stages[i]["type"].Scalar();
    route.stages.push_back(std::move(s));
  }
  return route;
}

/// The behaviour file's `tests:`.
std::vector<Case> readCases(config::Fields& f, const std::string& file, config::Diagnostics& diag) {
  std::vector<Case> cases;
  const YAML::Node tests = f.sequence("tests", true);
  for (std::size_t i = 0; tests.IsDefined() && i < tests.size(); ++i) {
    config::Fields cf(tests[i], file, "tests[" + std::to_string(i) + "]", diag);
    if (!cf.ok()) {
      continue;
    }
    Case c;
    c.line = cf.location().line;
    c.name = cf.str("name", true).value_or("");
    c.input = readMessages(cf, "input", true);
    const YAML::Node e = cf.node("expect");
    if (!e.IsDefined()) {
      cf.error("expect", "required field is missing (expected a list of messages or dropped)");
    } else if (e.IsScalar() && e.Scalar() == "dropped") {
      c.expectDropped = true;
    } else if (e.IsSequence()) {
      c.expect = readMessages(cf, "expect", false);
    } else {
      cf.error("expect", "expected a list of messages or dropped");
    }
    c.dropReason = cf.str("dropReason");
    cf.finish();
    cases.push_back(std::move(c));
  }
  return cases;
}

void runFile(const std::string& file, pipeline::Registry& registry, bool verbose, Totals& t) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    std::cout << "FAIL " << file << ": cannot read the file\n";
    ++t.invalidFiles;
    return;
  } catch (const YAML::Exception& e) {
    std::cout << file << ':' << e.mark.line + 1 << ':' << e.mark.column + 1 << ": error: " << e.msg
              << "\nFAIL " << file << ": invalid YAML\n";
    ++t.invalidFiles;
    return;
  }
  config::Diagnostics diag;
  config::Fields f(root, file, "", diag);
  config::RouteSpec route = readStages(f, root, file, diag);
  std::vector<Case> cases = readCases(f, file, diag);
  f.finish();
  const auto chain = registry.parseStages(route.stages, diag);
  if (diag.hasErrors()) {
    diag.print(std::cout);
    std::cout << "FAIL " << file << ": invalid behaviour file\n";
    ++t.invalidFiles;
    return;
  }
  for (const auto& c : cases) {
    std::ostringstream log;
    const auto diffs = runCase(c, chain, verbose, log);
    if (diffs.empty()) {
      ++t.passed;
      std::cout << "PASS " << file << ':' << c.line << ": " << c.name << '\n';
    } else {
      ++t.failed;
      std::cout << "FAIL " << file << ':' << c.line << ": " << c.name << '\n';
      for (const auto& d : diffs) {
        std::cout << "    " << d << '\n';
      }
    }
    std::cout << log.str();
  }
}

int runFiles(const TestOptions& o) {
  pipeline::Registry& registry = pipeline::Registry::builtin();
  for (const auto& p : o.stagePlugins) {
    std::string error;
    if (!pipeline::loadStagePlugin(p, registry, error)) {
      std::cerr << "mqbridge test: " << error << '\n';
      return 1;
    }
  }
  Totals t;
  for (const auto& file : o.files) {
    runFile(file, registry, o.verbose, t);
  }
  std::cout << t.passed << " passed, " << t.failed << " failed";
  if (t.invalidFiles > 0) {
    std::cout << ", " << t.invalidFiles << " invalid file(s)";
  }
  std::cout << '\n';
  return t.failed > 0 || t.invalidFiles > 0 ? 1 : 0;
}

}  // namespace

int testMain(const Args& args) {
  namespace po = boost::program_options;
  TestOptions o;
  po::options_description d("test options");
  d.add_options()("file", po::value(&o.files)->composing()->required(), "behaviour file(s)")(
      "stage-plugin", po::value(&o.stagePlugins)->composing(),
      "stage plugin (.so) to load before the files; repeatable")(
      "verbose,v", po::bool_switch(&o.verbose), "print every case");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (auto rc = parseCommandLine("test", args, d, &pos, vm)) {
    return *rc;
  }
  return runFiles(o);
}

}  // namespace mqb::app

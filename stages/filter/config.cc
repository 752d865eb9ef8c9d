#include "stages/filter/config.h"

#include <algorithm>

#include "config/fields.h"
#include "config/topic.h"
#include "stages/common/config_util.h"
#include "stages/filter/filter.h"

namespace mqb::stages::filter {
namespace {

struct FilterConfig final : pipeline::StageConfig {
  std::shared_ptr<const FilterSpec> spec;
};

void readTopics(config::Fields& f, FilterSpec& spec) {
  const YAML::Node n = f.node("topic");
  if (!n.IsDefined()) {
    return;
  }
  auto add = [&](const YAML::Node& item, const std::string& path) {
    if (!item.IsScalar()) {
      f.diag().error(config::locationOf(item, f.file()), path, "expected a topic filter");
      return;
    }
    if (auto err = config::topic::filterError(item.Scalar()); !err.empty()) {
      f.diag().error(config::locationOf(item, f.file()), path,
                     err + ", got \"" + item.Scalar() + "\"");
      return;
    }
    spec.topics.push_back(item.Scalar());
  };
  if (n.IsSequence()) {
    if (n.size() == 0) {
      f.error("topic", "expected at least one topic filter");
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      add(n[i], f.pathOf("topic") + "[" + std::to_string(i) + "]");
    }
  } else if (n.IsScalar()) {
    add(n, f.pathOf("topic"));
  } else {
    f.error("topic", "expected a topic filter or a list of topic filters");
  }
}

void readUserProperty(config::Fields& f, FilterSpec& spec) {
  const YAML::Node n = f.mapping("userProperty");
  if (!n.IsDefined()) {
    return;
  }
  config::Fields p(n, f.file(), f.pathOf("userProperty"), f.diag());
  PropertyCondition c;
  if (auto name = p.str("name", true)) {
    c.name = *name;
    if (c.name.empty()) {
      p.error("name", "must not be empty");
    }
  }
  c.value = p.str("value");
  p.finish();
  spec.userProperty = std::move(c);
}

void readJson(config::Fields& f, FilterSpec& spec) {
  const YAML::Node n = f.mapping("json");
  if (!n.IsDefined()) {
    return;
  }
  config::Fields j(n, f.file(), f.pathOf("json"), f.diag());
  auto field = common::readJsonPath(j, "field", true);
  static const std::vector<std::string> kOps = {"==", "!=", "<", "<=", ">", ">=", "exists"};
  auto op = j.enumeration("op", kOps, true);
  const YAML::Node value = j.node("value");
  if (op) {
    const auto idx =
        static_cast<std::size_t>(std::find(kOps.begin(), kOps.end(), *op) - kOps.begin());
    const Op o = static_cast<Op>(idx);
    nlohmann::json v;
    if (o == Op::Exists) {
      if (value.IsDefined()) {
        j.error("value", "not allowed with op exists");
      }
    } else if (!value.IsDefined()) {
      j.diag().error(j.location(), j.pathOf("value"),
                     "required field is missing (expected the JSON value to compare with)");
    } else if (!value.IsScalar()) {
      j.error("value", "expected a scalar (number, string, true, false or null)");
    } else {
      try {
        v = nlohmann::json::parse(common::yamlToJson(value).dump());
      } catch (const nlohmann::json::exception&) {
        j.error("value", "is not valid UTF-8");
      }
      if (o != Op::Eq && o != Op::Ne && !v.is_number() && !v.is_string()) {
        j.error("value", "op \"" + *op + "\" compares numbers or strings, got " +
                             std::string(v.type_name()));
      }
    }
    if (field) {
      spec.json = JsonCondition{std::move(*field), o, std::move(v)};
    }
  }
  j.finish();
}

}  // namespace

std::string_view FilterFactory::description() const noexcept {
  return "Keeps or drops messages by topic filter, v5 user property or a JSON field comparison.";
}

pipeline::StageConfigPtr FilterFactory::parse(const YAML::Node& params, const std::string& file,
                                              const std::string& path,
                                              config::Diagnostics& diag) const {
  const std::size_t before = diag.errorCount();
  config::Fields f(params, file, path, diag);
  if (!f.ok()) {
    return nullptr;
  }
  f.allow({"type"});
  auto spec = std::make_shared<FilterSpec>();
  if (auto a = f.enumeration("action", {"keep", "drop"})) {
    spec->action = *a == "drop" ? Action::Drop : Action::Keep;
  }
  readTopics(f, *spec);
  readUserProperty(f, *spec);
  readJson(f, *spec);
  if (auto e = common::readOnError(f)) {
    spec->onError = *e;
  }
  if (!f.has("topic") && !f.has("userProperty") && !f.has("json")) {
    f.error("", "needs at least one condition: topic, userProperty or json");
  }
  f.finish();
  if (diag.errorCount() > before) {
    return nullptr;
  }
  auto cfg = std::make_shared<FilterConfig>();
  cfg->spec = std::move(spec);
  return cfg;
}

pipeline::StagePtr FilterFactory::create(const pipeline::StageConfigPtr& cfg,
                                         const pipeline::StageContext& ctx) const {
  const auto& c = static_cast<const FilterConfig&>(*cfg);
  return std::make_unique<FilterStage>(c.spec, ctx.metrics);
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<FilterFactory>(); }

}  // namespace mqb::stages::filter

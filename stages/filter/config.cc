#include "stages/filter/config.h"

#include <algorithm>

#include "config/topic.h"
#include "stages/common/config_util.h"

namespace mqb::stages::filter {
namespace {

void readTopics(pipeline::StageParams& p, FilterConfig& spec) {
  const config::ParamsPtr n = p.value("topic");
  if (!n) {
    return;
  }
  auto add = [&](const config::Params& item) {
    if (item.kind() != config::Params::Kind::Scalar) {
      item.fail("expected a topic filter");
      return;
    }
    if (auto err = config::topic::filterError(item.scalar()); !err.empty()) {
      item.fail(err + ", got \"" + item.scalar() + "\"");
      return;
    }
    spec.topics.push_back(item.scalar());
  };
  if (n->kind() == config::Params::Kind::List) {
    if (n->size() == 0) {
      p.error("topic", "expected at least one topic filter");
    }
    for (std::size_t i = 0; i < n->size(); ++i) {
      add(*n->item(i));
    }
  } else if (n->kind() == config::Params::Kind::Scalar) {
    add(*n);
  } else {
    p.error("topic", "expected a topic filter or a list of topic filters");
  }
}

void readUserProperty(pipeline::StageParams& p, FilterConfig& spec) {
  const config::ParamsPtr u = p.mapping("userProperty");
  if (!u) {
    return;
  }
  PropertyCondition c;
  if (auto name = u->str("name", true)) {
    c.name = *name;
    if (c.name.empty()) {
      u->error("name", "must not be empty");
    }
  }
  c.value = u->str("value");
  u->finish();
  spec.userProperty = std::move(c);
}

/// The `value` of a json condition with operator `o` (`op` as written).
nlohmann::json readJsonValue(config::Params& j, Op o, const std::string& op) {
  nlohmann::json v;
  const config::ParamsPtr value = j.value("value");
  if (o == Op::Exists) {
    if (value) {
      j.error("value", "not allowed with op exists");
    }
  } else if (!value) {
    j.diag().error(j.location(), j.pathOf("value"),
                   "required field is missing (expected the JSON value to compare with)");
  } else if (value->kind() != config::Params::Kind::Scalar) {
    j.error("value", "expected a scalar (number, string, true, false or null)");
  } else {
    try {
      v = nlohmann::json::parse(common::toJson(*value).dump());
    } catch (const nlohmann::json::exception&) {
      j.error("value", "is not valid UTF-8");
    }
    if (o != Op::Eq && o != Op::Ne && !v.is_number() && !v.is_string()) {
      j.error("value",
              "op \"" + op + "\" compares numbers or strings, got " + std::string(v.type_name()));
    }
  }
  return v;
}

void readJson(pipeline::StageParams& p, FilterConfig& spec) {
  const config::ParamsPtr j = p.mapping("json");
  if (!j) {
    return;
  }
  auto field = common::readJsonPath(*j, "field", true);
  static const std::vector<std::string> kOps = {"==", "!=", "<", "<=", ">", ">=", "exists"};
  auto op = j->enumeration("op", kOps, true);
  if (op) {
    const auto idx =
        static_cast<std::size_t>(std::find(kOps.begin(), kOps.end(), *op) - kOps.begin());
    const Op o = static_cast<Op>(idx);
    nlohmann::json v = readJsonValue(*j, o, *op);
    if (field) {
      spec.json = JsonCondition{std::move(*field), o, std::move(v)};
    }
  } else {
    j->allow({"value"});
  }
  j->finish();
}

}  // namespace

std::string_view FilterFactory::description() const noexcept {
  return "Keeps or drops messages by topic filter, v5 user property or a JSON field comparison.";
}

void FilterFactory::read(pipeline::StageParams& p, FilterConfig& spec) const {
  if (auto a = p.enumeration("action", {"keep", "drop"})) {
    spec.action = *a == "drop" ? Action::Drop : Action::Keep;
  }
  readTopics(p, spec);
  readUserProperty(p, spec);
  readJson(p, spec);
  if (auto e = common::readOnError(p)) {
    spec.onError = *e;
  }
  if (!p.has("topic") && !p.has("userProperty") && !p.has("json")) {
    p.error("", "needs at least one condition: topic, userProperty or json");
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<FilterFactory>(); }

}  // namespace mqb::stages::filter

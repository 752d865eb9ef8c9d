#include "stages/filter/filter.h"

#include "config/topic.h"

namespace mqb::stages::filter {

bool compare(const nlohmann::json& actual, Op op, const nlohmann::json& expected) noexcept {
  switch (op) {
    case Op::Exists:
      return true;
    case Op::Eq:
      return actual == expected;
    case Op::Ne:
      return actual != expected;
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
      break;
  }
  const bool numbers = actual.is_number() && expected.is_number();
  const bool strings = actual.is_string() && expected.is_string();
  if (!numbers && !strings) {
    return false;
  }
  if (numbers && (actual.is_number_float() || expected.is_number_float())) {
    const double a = actual.get<double>();
    const double e = expected.get<double>();
    switch (op) {
      case Op::Lt:
        return a < e;
      case Op::Le:
        return a <= e;
      case Op::Gt:
        return a > e;
      default:
        return a >= e;
    }
  }
  switch (op) {
    case Op::Lt:
      return actual < expected;
    case Op::Le:
      return actual <= expected;
    case Op::Gt:
      return actual > expected;
    default:
      return actual >= expected;
  }
}

Match evaluate(const FilterConfig& spec, const pipeline::Message& msg) noexcept {
  if (!spec.topics.empty()) {
    bool any = false;
    for (const auto& f : spec.topics) {
      if (config::topic::matches(f, msg.topic)) {
        any = true;
        break;
      }
    }
    if (!any) {
      return Match::No;
    }
  }
  if (spec.userProperty) {
    bool found = false;
    for (const auto& p : msg.props.user) {
      if (p.key == spec.userProperty->name &&
          (!spec.userProperty->value || p.value == *spec.userProperty->value)) {
        found = true;
        break;
      }
    }
    if (!found) {
      return Match::No;
    }
  }
  if (spec.json) {
    try {
      // Read-only: the unordered document type builds faster than common::Json.
      const nlohmann::json doc = nlohmann::json::parse(msg.payload, nullptr, false);
      if (doc.is_discarded()) {
        return Match::Error;
      }
      const nlohmann::json* v = spec.json->field.find(doc);
      if (v == nullptr || !compare(*v, spec.json->op, spec.json->value)) {
        return Match::No;
      }
    } catch (...) {  // allocation failure or a nlohmann type error: treat as a failed message
      return Match::Error;
    }
  }
  return Match::Yes;
}

void FilterStage::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  const Match m = evaluate(*spec_, msg);
  if (m == Match::Error) {
    if (spec_->onError == common::OnError::Pass) {
      out.emit(std::move(msg));
    } else {
      common::drop(msg, counters_, metrics::DropReason::StageError);
    }
    return;
  }
  const bool forward = (m == Match::Yes) == (spec_->action == Action::Keep);
  if (forward) {
    out.emit(std::move(msg));
  } else {
    common::drop(msg, counters_, metrics::DropReason::Filtered);
  }
}

}  // namespace mqb::stages::filter

#pragma once
// A reader of the Prometheus text exposition format (version 0.0.4), for tests that assert on a
// /metrics body: `# TYPE` lines give each family's type, sample lines
// `name{label="value",...} value [timestamp]` give the samples (label values unescaped: \\, \",
// \n; values may be NaN, +Inf, -Inf). `# HELP` and other comments are skipped. A line that is
// none of these is reported in `errors` (with its 1-based line number) and skipped.
//
//   const PrometheusText m = parsePrometheusText(body);
//   EXPECT_EQ(m.types.at("mqbridge_messages_received_total"), "counter");
//   EXPECT_EQ(m.sum("mqbridge_messages_dropped_total", {"reason=\"loop\""}), 0);

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mqb::test {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PrometheusText {
  std::map<std::string, std::string> types;  ///< family name -> counter|gauge|histogram|...
  std::vector<PrometheusSample> samples;     ///< in the order of the text
  std::vector<std::string> errors;           ///< "line N: what is wrong"

  /// Sum of the values of every sample named `name` whose labels include each selector
  /// (`label="value"`, compared exactly); 0 if there is none. A selector not of that form
  /// matches nothing.
  double sum(std::string_view name, const std::vector<std::string>& selectors = {}) const;
  /// Number of samples named `name`.
  std::size_t count(std::string_view name) const;
};

PrometheusText parsePrometheusText(std::string_view text);

}  // namespace mqb::test

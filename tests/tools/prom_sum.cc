// mqb_prom_sum: the test-support reader of the Prometheus text format
// (tests/support/prometheus_text.h) for script and Python tests, so that they do not each
// scan /metrics lines their own way.
//
//   curl -s http://127.0.0.1:$port/metrics | mqb_prom_sum NAME ['label="value"'...]
//
// Prints the sum of every sample of NAME whose labels include each selector (0 if none), as an
// integer when it is one. Exit status 0; 1 if the input has lines that are not the text format
// (each reported on stderr; the sum covers the others); 2 on a usage error.

#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/prometheus_text.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: mqb_prom_sum NAME ['label=\"value\"'...] < metrics.txt\n");
    return 2;
  }
  const std::vector<std::string> selectors(argv + 2, argv + argc);
  const std::string text{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  const auto parsed = mqb::test::parsePrometheusText(text);
  for (const auto& e : parsed.errors) {
    std::fprintf(stderr, "mqb_prom_sum: %s\n", e.c_str());
  }
  const double sum = parsed.sum(argv[1], selectors);
  if (std::nearbyint(sum) == sum && std::fabs(sum) < 1e15) {
    std::printf("%lld\n", static_cast<long long>(sum));
  } else {
    std::printf("%.17g\n", sum);
  }
  return parsed.errors.empty() ? 0 : 1;
}

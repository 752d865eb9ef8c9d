// No input may crash the loader: truncated prefixes of valid configurations, random bytes and
// random YAML mutations always give either a configuration or diagnostics. Run under ASan/UBSan
// by scripts/test. Deterministic (fixed seeds).

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "config/loader.h"

namespace mqb::config {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string validConfig() {
  const std::string dir = std::string(MQB_SOURCE_DIR);
  return readFile(dir + "/examples/config/connector.yaml") + "---\n" +
         readFile(dir + "/examples/config/topic-map.yaml") + "---\n" +
         readFile(dir + "/tests/fuzz/corpus/fuzz_config_loader/env-refs.yaml") + "---\n" +
         readFile(dir + "/tests/data/config/mistakes.yaml");
}

void expectGraceful(const std::string& text) {
  const LoadResult r = loadText(text, "fuzz.yaml", {});
  // Either a configuration or at least one error, never neither.
  EXPECT_TRUE(r.ok() != r.diagnostics.hasErrors()) << text;
  for (const auto& d : r.diagnostics.all()) {
    EXPECT_FALSE(d.message.empty());
  }
}

TEST(Fuzz, TruncatedPrefixesOfValidConfigs) {
  const std::string text = validConfig();
  for (std::size_t n = 0; n <= text.size(); n += 3) {
    expectGraceful(text.substr(0, n));
  }
}

TEST(Fuzz, RandomBytes) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len(0, 200);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 3000; ++i) {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (auto& c : s) {
      c = static_cast<char>(byte(rng));
    }
    expectGraceful(s);
  }
}

TEST(Fuzz, RandomYamlMutations) {
  const std::string base = validConfig();
  const std::string tokens[] = {":",  "-",      "[",  "]",   "{",      "}",           "\n", "  ",
                                "#",  "---",    "&a", "*a",  "!!",     "'",           "\"", ",",
                                "? ", "|",      ">",  "\t",  "null",   "0",           "-1", "1e999",
                                "~",  "<<: *a", "${", "$${", "${env:", "${env:PATH}", "}"};
  std::mt19937 rng(777);
  for (int i = 0; i < 2000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0:  // delete a span
          s.erase(pos, 1 + rng() % 8);
          break;
        case 1:  // insert a YAML token
          s.insert(pos, tokens[rng() % std::size(tokens)]);
          break;
        case 2:  // duplicate a line
        {
          const std::size_t a = s.rfind('\n', pos);
          const std::size_t b = s.find('\n', pos);
          const std::size_t start = a == std::string::npos ? 0 : a + 1;
          s.insert(start, s.substr(start, (b == std::string::npos ? s.size() : b) - start) + "\n");
          break;
        }
        default:  // flip a byte
          s[pos] = static_cast<char>(rng() % 256);
      }
    }
    expectGraceful(s);
  }
}

TEST(Fuzz, InputsThatHangYamlCppLoadAll) {
  // yaml-cpp 0.7's LoadAll loops forever on these; the loader parses document by document.
  expectGraceful("!!str ,");
  expectGraceful(",");
  expectGraceful("a: 1\n...\n,");
  expectGraceful("&a ,\n---\n,\n");
}

TEST(Fuzz, AnErrorInOneDocumentDoesNotHideTheOthers) {
  const LoadResult r = loadText("a: [\n---\nkind: Nope\n---\nb: ]\n", "m.yaml", {});
  std::vector<int> lines;
  for (const auto& d : r.diagnostics.sorted()) {
    lines.push_back(d.where.line);
  }
  EXPECT_EQ(lines.size(), 4u) << r.diagnostics.str();  // 2 parse errors, apiVersion, kind
  EXPECT_EQ(lines.front(), 2);  // "end of sequence not found" at the end of document 1
  EXPECT_EQ(lines.back(), 5);
}

TEST(Fuzz, AliasBombStaysCheap) {
  std::string s = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'k'; ++c) {
    const char prev = static_cast<char>(c - 1);
    s += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
         ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  expectGraceful(s);
  expectGraceful(std::string(5000, '[') + std::string(5000, ']'));
}

}  // namespace
}  // namespace mqb::config

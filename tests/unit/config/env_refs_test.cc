#include "config/env_refs.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/loader.h"
#include "config/plan.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

Environment envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

const Environment kEnv = envOf({{"POD_NAME", "bridge-0"}, {"SITE", "berlin"}, {"EMPTY", ""}});

std::string expanded(std::string_view value) {
  std::string error;
  const auto out = expandEnv(value, kEnv, error);
  EXPECT_TRUE(out) << error;
  return out.value_or("");
}

std::string expandError(std::string_view value) {
  std::string error;
  EXPECT_FALSE(expandEnv(value, kEnv, error)) << value;
  return error;
}

TEST(EnvReferences, ExpandsEveryReference) {
  EXPECT_EQ(expanded("${env:POD_NAME}-"), "bridge-0-");
  EXPECT_EQ(expanded("sites/${env:SITE}/${env:POD_NAME}/#"), "sites/berlin/bridge-0/#");
  EXPECT_EQ(expanded("a${env:EMPTY}b"), "ab");
  EXPECT_EQ(expanded("plain/topic"), "plain/topic");
}

TEST(EnvReferences, DollarsOutsideReferencesAreLiteral) {
  EXPECT_EQ(expanded("$SYS/x"), "$SYS/x");
  EXPECT_EQ(expanded("a$$b$"), "a$$b$");
  EXPECT_EQ(expanded("a/$${env:SITE}"), "a/${env:SITE}");  // $${ is a literal ${
  EXPECT_FALSE(hasEnvReference("$SYS/{1}"));
  EXPECT_TRUE(hasEnvReference("a$${"));
}

TEST(EnvReferences, ValuesAreNotExpandedAgain) {
  std::string error;
  const auto out = expandEnv("x/${env:V}", envOf({{"V", "${env:SITE}"}}), error);
  ASSERT_TRUE(out) << error;
  EXPECT_EQ(*out, "x/${env:SITE}");
}

TEST(EnvReferences, BadReferencesGiveExactErrors) {
  EXPECT_EQ(expandError("a/${env:NOPE}/b"),
            "environment variable NOPE is not set (\"${env:NOPE}\" at column 3)");
  EXPECT_EQ(expandError("a/${env:SITE"),
            "unterminated reference \"${env:SITE\" at column 3 (write $${ for a literal ${)");
  EXPECT_EQ(expandError("${SITE}"),
            "unsupported reference \"${SITE}\" at column 1: only ${env:NAME} is supported (write "
            "$${ for a literal ${)");
  EXPECT_EQ(expandError("x${env:1A}"),
            "invalid variable name in \"${env:1A}\" at column 2: letters, digits and _, not "
            "starting with a digit");
  EXPECT_EQ(expandError("x${env:}"),
            "invalid variable name in \"${env:}\" at column 2: letters, digits and _, not "
            "starting with a digit");
  EXPECT_EQ(expandError("x${env:A-B}"),
            "invalid variable name in \"${env:A-B}\" at column 2: letters, digits and _, not "
            "starting with a digit");
}

/// A connector with `prefix` and a route with `target` (its source: a/#), at known lines.
std::string resources(const std::string& prefix, const std::string& target) {
  return std::string(testing::kBaseConnector) + "  clientIdPrefix: '" + prefix + "'\n---\n" +
         testing::kBaseTopicMap + "      target: '" + target + "'\n" +
         "      sharedSubscription: {groupName: g, groupMinimumShareNumber: 2}\n";
}
// Lines in resources(): clientIdPrefix 21, the route's source 32, its target 33.

/// `yaml` with the route's source replaced by `source`.
std::string withSource(std::string yaml, const std::string& source) {
  const std::string base = "source: a/#";
  const auto pos = yaml.find(base);
  EXPECT_NE(pos, std::string::npos);
  return yaml.replace(pos, base.size(), "source: '" + source + "'");
}

LoadResult loadWith(const std::string& yaml, const Environment& env) {
  LoadOptions o;
  o.environment = env;
  return loadText(yaml, "site.yaml", o);
}

TEST(EnvReferences, LoaderExpandsPrefixSourceAndTarget) {
  const LoadResult r = loadWith(
      withSource(resources("${env:POD_NAME}-", "cloud/${env:SITE}/{1}"), "sites/${env:SITE}/#"),
      kEnv);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const ConnectorSpec& c = r.config->connectors.at(0);
  const RouteSpec& route = r.config->topicMaps.at(0).routes.at(0);
  EXPECT_EQ(c.clientIdPrefix, "bridge-0-");
  EXPECT_EQ(route.source, "sites/berlin/#");
  EXPECT_EQ(route.target, "cloud/berlin/{1}");
  EXPECT_EQ(clientId(c, route, 1), "bridge-0-r1-1");
}

TEST(EnvReferences, UnsetVariableIsAnErrorAtTheField) {
  const LoadResult r = loadWith(resources("${env:NS}-", "b/${env:TOPIC}"), kEnv);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.str(),
            "site.yaml:21:19: error: spec.clientIdPrefix: environment variable NS is not set "
            "(\"${env:NS}\" at column 1)\n"
            "site.yaml:33:15: error: spec.routes[0].target: environment variable TOPIC is not "
            "set (\"${env:TOPIC}\" at column 3)\n");
}

TEST(EnvReferences, ExpandedValuesAreValidatedLikeLiterals) {
  const Environment env =
      envOf({{"PREFIX", std::string("a\0b", 3)}, {"LEVEL", "x#"}, {"T", "{9-2}"}});
  const LoadResult r =
      loadWith(withSource(resources("${env:PREFIX}", "b/${env:T}"), "a/${env:LEVEL}"), env);
  ASSERT_FALSE(r.ok());
  const auto& all = r.diagnostics.all();
  ASSERT_EQ(all.size(), 3u) << r.diagnostics.str();
  EXPECT_EQ(all[0].path, "spec.clientIdPrefix");
  EXPECT_EQ(all[0].where.line, 21);
  EXPECT_EQ(all[0].message, "must not contain the NUL character");
  EXPECT_EQ(all[1].path, "spec.routes[0].source");
  EXPECT_EQ(all[1].where.line, 32);
  EXPECT_EQ(all[2].path, "spec.routes[0].target");
  EXPECT_EQ(all[2].where.line, 33);
  // The same source and target written literally give the same errors.
  const LoadResult literal = loadWith(withSource(resources("p-", "b/{9-2}"), "a/x#"), env);
  ASSERT_EQ(literal.diagnostics.all().size(), 2u) << literal.diagnostics.str();
  EXPECT_EQ(all[1].message, literal.diagnostics.all()[0].message);
  EXPECT_EQ(all[2].message, literal.diagnostics.all()[1].message);
  EXPECT_EQ(all[2].message,
            "invalid target \"b/{9-2}\": invalid placeholder \"{9-2}\" at column 3: range ends "
            "before it starts");
}

TEST(EnvReferences, ProcessEnvironmentIsTheDefault) {
  ::setenv("MQB_ENV_REFS_TEST_SITE", "hamburg", 1);
  std::string yaml = resources("p-", "t/${env:MQB_ENV_REFS_TEST_SITE}");
  const LoadResult r = loadText(yaml, "site.yaml", {});
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->topicMaps.at(0).routes.at(0).target, "t/hamburg");
}

}  // namespace
}  // namespace mqb::config

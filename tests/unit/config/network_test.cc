// Network path extensions of a broker connection (config/network.h): proxy (configured or from
// HTTPS_PROXY / NO_PROXY), failover endpoints and the TLS ALPN list; each rule with a good and a
// bad case, errors located at the offending field.

#include "config/network.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "config/plan.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;

const std::string kRemote = "spec.remoteBrokerConnection";

LoadResult withRemote(const std::string& field, const std::string& yaml) {
  YAML::Node c = baseConnector();
  setPath(c, kRemote + "." + field, yaml);
  return loadPair(c, baseTopicMap());
}

/// Sets (or, with nullptr, clears) an environment variable for one test.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
      had_ = true;
    }
    value != nullptr ? setenv(name, value, 1) : unsetenv(name);
  }
  ~EnvVar() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(NetworkConfig, ConfiguredProxyWithSecret) {
  const LoadResult r =
      withRemote("proxy", "{url: \"http://proxy.corp:3128\", secretName: proxy-creds}");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const auto& p = r.config->connectors[0].remote.proxy;
  EXPECT_EQ(p.source, ProxySpec::Source::Config);
  EXPECT_EQ(p.kind, ProxySpec::Kind::Http);
  EXPECT_EQ(p.host, "proxy.corp");
  EXPECT_EQ(p.port, 3128);
  EXPECT_NE(p.usernameFile.find("/proxy-creds/username"), std::string::npos);
  EXPECT_TRUE(proxyApplies(p, "anything.example"));
  EXPECT_EQ(describeProxy(p), "http://proxy.corp:3128 with credentials from Secret proxy-creds");
}

TEST(NetworkConfig, ProxyMistakesAreLocated) {
  LoadResult r = withRemote("proxy", "{url: \"http://user:pw@proxy:3128\"}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy.url", "credentials do not belong in the URL"))
      << r.diagnostics.str();
  EXPECT_EQ(r.diagnostics.str().find("pw@"), std::string::npos);
  r = withRemote("proxy", "{url: \"https://proxy:3128\"}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy.url", "not supported")) << r.diagnostics.str();
  r = withRemote("proxy", "{url: \"proxy\"}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy.url", "missing port")) << r.diagnostics.str();
  r = withRemote("proxy", "{secretName: x}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy", "needs url")) << r.diagnostics.str();
  r = withRemote("proxy", "{direct: true, url: \"http://p:1\"}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy.direct", "excludes")) << r.diagnostics.str();
  r = withRemote("proxy", "{uri: \"http://p:1\"}");
  EXPECT_TRUE(hasError(r, kRemote + ".proxy.uri", "did you mean \"url\"")) << r.diagnostics.str();
  // file:line:column of the offending value.
  EXPECT_NE(r.diagnostics.str().find("test.yaml:"), std::string::npos) << r.diagnostics.str();
}

TEST(NetworkConfig, EnvironmentProxyAndNoProxy) {
  EnvVar a("HTTPS_PROXY", "http://alice:s%40cret@10.0.0.1:8080/");
  EnvVar b("https_proxy", nullptr);
  EnvVar c("NO_PROXY", "localhost, .corp.example,10.1.2.3,[::1]");
  EnvVar d("no_proxy", nullptr);
  const LoadResult r = loadPair(baseConnector(), baseTopicMap());
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const auto& con = r.config->connectors[0];
  const auto& p = con.remote.proxy;
  EXPECT_EQ(p.source, ProxySpec::Source::Environment);
  EXPECT_EQ(p.username, "alice");
  EXPECT_EQ(p.password, "s@cret");
  EXPECT_EQ(p.host, "10.0.0.1");
  EXPECT_TRUE(proxyApplies(p, "broker.example.com"));
  EXPECT_FALSE(proxyApplies(p, "LOCALHOST"));
  EXPECT_FALSE(proxyApplies(p, "a.corp.example"));
  EXPECT_FALSE(proxyApplies(p, "corp.example"));
  EXPECT_TRUE(proxyApplies(p, "notcorp.example"));
  EXPECT_FALSE(proxyApplies(p, "10.1.2.3"));
  EXPECT_FALSE(proxyApplies(p, "::1"));
  EXPECT_EQ(con.local.proxy.source, ProxySpec::Source::None);  // the way out only
  const std::string d2 = describeProxy(p);
  EXPECT_EQ(d2, "http://10.0.0.1:8080 from HTTPS_PROXY with credentials");
  std::ostringstream plan;
  Plan::build(*r.config).print(plan, {});
  EXPECT_NE(plan.str().find("path: via proxy http://10.0.0.1:8080 from HTTPS_PROXY"),
            std::string::npos)
      << plan.str();
  EXPECT_EQ(plan.str().find("cret"), std::string::npos);
}

TEST(NetworkConfig, DirectIgnoresTheEnvironmentAndBadEnvironmentIsAnError) {
  EnvVar a("HTTPS_PROXY", "ftp://proxy:21");
  EnvVar b("https_proxy", nullptr);
  LoadResult r = withRemote("proxy", "{direct: true}");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].remote.proxy.source, ProxySpec::Source::None);
  r = loadPair(baseConnector(), baseTopicMap());
  EXPECT_TRUE(hasError(r, kRemote, "HTTPS_PROXY")) << r.diagnostics.str();
}

TEST(NetworkConfig, SocksUrl) {
  ProxySpec::Kind kind{};
  std::string host;
  std::uint16_t port = 0;
  std::string user;
  std::string password;
  EXPECT_EQ(parseProxyUrl("socks5h://[::1]:1080", kind, host, port, user, password), "");
  EXPECT_EQ(kind, ProxySpec::Kind::Socks5);
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 1080);
  EXPECT_EQ(parseProxyUrl("proxy:3128", kind, host, port, user, password), "");
  EXPECT_EQ(kind, ProxySpec::Kind::Http);
  EXPECT_NE(parseProxyUrl("http://u:%zz@p:1", kind, host, port, user, password), "");
  EXPECT_NE(parseProxyUrl("http://p:1/path", kind, host, port, user, password), "");
}

TEST(NetworkConfig, FailoverEndpoints) {
  LoadResult r = withRemote(
      "failover", "{endpoints: [\"b.example:8883\", \"[::1]:1883\"], primaryCheckSeconds: 5}");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const auto& b = r.config->connectors[0].remote;
  ASSERT_EQ(b.fallbackEndpoints.size(), 2u);
  EXPECT_EQ(b.fallbackEndpoints[1].host, "::1");
  EXPECT_TRUE(b.returnToPrimary);
  EXPECT_EQ(b.primaryCheckSeconds, 5);
  std::ostringstream plan;
  Plan::build(*r.config).print(plan, {});
  EXPECT_NE(plan.str().find("failover: b.example:8883 [::1]:1883; back to 127.0.0.1:1884"),
            std::string::npos)
      << plan.str();

  r = withRemote("failover", "{endpoints: [\"b.example\"]}");
  EXPECT_TRUE(hasError(r, kRemote + ".failover.endpoints[0]", "missing port"))
      << r.diagnostics.str();
  r = withRemote("failover", "{endpoints: []}");
  EXPECT_TRUE(hasError(r, kRemote + ".failover.endpoints", "at least one"));
  r = withRemote("failover", "{endpoints: [\"b:1\"], primaryCheckSeconds: 0}");
  EXPECT_TRUE(hasError(r, kRemote + ".failover.primaryCheckSeconds")) << r.diagnostics.str();
  r = withRemote("failover",
                 "{endpoints: [\"b:1\"], returnToPrimary: false, primaryCheckSeconds: 3}");
  EXPECT_TRUE(hasWarning(r, kRemote + ".failover.primaryCheckSeconds", "ignored"));
}

TEST(NetworkConfig, Alpn) {
  LoadResult r = withRemote("tls", "{tlsEnabled: true, alpn: [mqtt, x-amzn-mqtt-ca]}");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].remote.tls.alpn,
            (std::vector<std::string>{"mqtt", "x-amzn-mqtt-ca"}));
  r = withRemote("tls", "{tlsEnabled: true, alpn: [\"\"]}");
  EXPECT_TRUE(hasError(r, kRemote + ".tls.alpn", "1 to 255 bytes")) << r.diagnostics.str();
  r = withRemote("tls", "{tlsEnabled: false, alpn: [mqtt]}");
  EXPECT_TRUE(hasWarning(r, kRemote + ".tls.alpn", "ignored"));
}

}  // namespace
}  // namespace mqb::config

// Command-line pieces of scale-out: the child command lines of --spawn-instances and when `run`
// reads the Kubernetes API.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "app/runtime/options.h"
#include "app/runtime/supervisor.h"

namespace mqb::app {
namespace {

std::string after(const std::vector<std::string>& args, const std::string& flag) {
  const auto it = std::find(args.begin(), args.end(), flag);
  return it == args.end() || it + 1 == args.end() ? "<missing>" : *(it + 1);
}

TEST(InstanceArgs, EachChildGetsItsIndexPortAndStateDir) {
  RunOptions o;
  o.config.configPaths = {"/etc/a.yaml", "/etc/dir"};
  o.metricsAddress = "127.0.0.1:9400";
  o.stateDir = "/var/lib/mqbridge";
  o.logLevel = "debug";
  const auto a = instanceArgs(o, 2);
  EXPECT_EQ(a.front(), "run");
  EXPECT_EQ(after(a, "--instance-index"), "2");
  EXPECT_EQ(after(a, "--metrics-address"), "127.0.0.1:9402");
  EXPECT_EQ(after(a, "--state-dir"), "/var/lib/mqbridge/2");
  EXPECT_EQ(after(a, "--log-level"), "debug");
  EXPECT_EQ(std::count(a.begin(), a.end(), "--config"), 2);
  EXPECT_EQ(std::count(a.begin(), a.end(), "--spawn-instances"), 0);  // no recursion
  EXPECT_EQ(after(instanceArgs(o, 0), "--metrics-address"), "127.0.0.1:9400");
}

TEST(InstanceArgs, IPv6AddressAndAnyPort) {
  RunOptions o;
  o.config.configPaths = {"c.yaml"};
  o.metricsAddress = "[::1]:0";
  EXPECT_EQ(after(instanceArgs(o, 1), "--metrics-address"), "[::1]:0");
  o.metricsAddress = "[::1]:9000";
  EXPECT_EQ(after(instanceArgs(o, 1), "--metrics-address"), "[::1]:9001");
}

TEST(KubeMode, FlagOrPodWithoutConfig) {
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  RunOptions o;
  EXPECT_FALSE(kubeModeWanted(o));
  o.kube = true;
  EXPECT_TRUE(kubeModeWanted(o));
  o.kube = false;
  ::setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  EXPECT_TRUE(kubeModeWanted(o));  // in a pod, no -c
  o.config.configPaths = {"/etc/mqbridge"};
  EXPECT_FALSE(kubeModeWanted(o));  // -c wins
  ::unsetenv("KUBERNETES_SERVICE_HOST");
}

}  // namespace
}  // namespace mqb::app

// app/runtime/supervisor: the command lines of the child instances of `run --spawn-instances`.

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mqb::app

#pragma once
// The stand-in Kubernetes API server (tests/support/fake_kube_api.py, its protocol and test
// controls described there) as a child process of a test, with those controls as calls.
//
//   FakeKubeApi api(pki, dir, "token-1");
//   ASSERT_TRUE(api.start()) << api.log();
//   api.apply(connector);                           // as `kubectl apply` would
//   args = api.clientArgs();                        // --kube-api-server ... for mqbridge
//   EXPECT_EQ(api.get("statefulsets", "kc")["spec"]["replicas"], 2);

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait.h"

namespace mqb::test {

class FakeKubeApi {
 public:
  using Json = nlohmann::json;

  /// Serves HTTPS with `pki`'s server certificate and accepts the bearer `token`; its files (the
  /// token, applied objects, its log) go to `dir`, which must outlive it.
  FakeKubeApi(const TestPki& pki, const TempDir& dir, std::string token);

  /// Starts it and waits (bounded) until both ports listen. False: see log().
  bool start();
  std::string log() const;

  /// What a client of it needs: --kube-api-server, --kube-token-file and --kube-ca-file.
  std::vector<std::string> clientArgs() const;
  const std::string& tokenFile() const noexcept { return tokenFile_; }

  /// A test control request (GET on the control port).
  HttpResponse control(const std::string& pathAndQuery) const;
  /// Creates or replaces the object (its status kept), as `kubectl apply` does.
  bool apply(const Json& object);
  /// Merge-patches as another client would (status = the status subresource, as a kubelet or a
  /// controller writes it).
  bool patch(const std::string& plural, const std::string& name, const Json& change,
             bool status = false);
  /// The object, or null.
  Json get(const std::string& plural, const std::string& name) const;
  /// Deletes it (and, by garbage collection, what it owns).
  bool remove(const std::string& plural, const std::string& name);
  /// {"lists", "watches", "events", "rv", "writes", "writes_by"}.
  Json stats() const;

 private:
  std::string write(const std::string& kind, const Json& content);

  const TestPki& pki_;
  const TempDir& dir_;
  std::string token_;
  std::string tokenFile_;
  std::unique_ptr<ChildProcess> process_;
  int apiPort_ = 0, controlPort_ = 0;
  std::atomic<int> files_{0};  // tests apply from more than one thread
};

}  // namespace mqb::test

#pragma once
// A fake Azure Arc managed-identity token endpoint on a free 127.0.0.1 port: the first GET of a
// request gets 401 with `WWW-Authenticate: Basic realm=<key file>`; a GET with
// `Authorization: Basic <contents of the key file>` gets 200 and a JSON token. For
// systemAssignedManagedIdentity tests (set ClientOptions::identityEndpoint to url()).

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/wait.h"

namespace mqb::test {

class FakeIdentityEndpoint {
 public:
  /// Serves `token`, valid for `lifetimeSeconds` (expires_on = now + lifetime).
  explicit FakeIdentityEndpoint(std::string token, int lifetimeSeconds = 3600);
  ~FakeIdentityEndpoint();
  FakeIdentityEndpoint(const FakeIdentityEndpoint&) = delete;
  FakeIdentityEndpoint& operator=(const FakeIdentityEndpoint&) = delete;

  /// http://127.0.0.1:<port>/metadata/identity/oauth2/token
  std::string url() const;
  /// The directory of the challenge's key file (the Arc key directory a client must accept).
  std::string keyDirectory() const { return dir_.path(); }
  /// Request lines ("GET /path?query HTTP/1.1") seen so far.
  std::vector<std::string> requests() const;
  int tokensIssued() const noexcept { return issued_.load(); }

 private:
  void serve();

  std::string token_;
  int lifetime_;
  TempDir dir_{"mqb-identity"};
  std::string keyFile_;
  std::string key_ = "fake-arc-challenge-key";
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> issued_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace mqb::test

#pragma once
// Test certificates made with the openssl CLI (EC P-256, valid two days):
//
//   root CA ──► server cert (CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1)
//     └──► intermediate CA ──► client cert (CN=<clientCn>)
//   wrong CA (unrelated self-signed root) ──► wrongServer cert (same SANs)
//
// Brokers get cafile=rootCa, certfile/keyfile=server*; bridge clients trust rootCa and present
// client cert + intermediate chain (mutual TLS).

#include <string>

#include "tests/support/wait.h"

namespace mqb::test {

class TestPki {
 public:
  /// Generates everything into a fresh temp dir. Throws std::runtime_error if openssl fails.
  explicit TestPki(const std::string& clientCn = "mqb-bridge-client");
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const noexcept { return dir_.path(); }
  std::string rootCa() const { return dir_.file("root-ca.pem"); }
  std::string intermediateCa() const { return dir_.file("intermediate-ca.pem"); }
  std::string serverCert() const { return dir_.file("server.pem"); }
  std::string serverKey() const { return dir_.file("server.key"); }
  std::string clientCert() const { return dir_.file("client.pem"); }
  std::string clientKey() const { return dir_.file("client.key"); }
  std::string wrongCa() const { return dir_.file("wrong-ca.pem"); }
  std::string wrongServerCert() const { return dir_.file("wrong-server.pem"); }
  std::string wrongServerKey() const { return dir_.file("wrong-server.key"); }

  /// Lays out a secret directory the way the bridge sees an x509 secret mounted:
  /// <dir>/client_cert.pem, client_key.pem, client_intermediate_certs.pem. Returns <dir>.
  std::string writeX509Secret(const std::string& dir) const;

  /// Issues one more client certificate (CN=`cn`) from the intermediate CA, as a renewal would:
  /// <dir>/<name>.pem and <name>.key.
  void issueClient(const std::string& name, const std::string& cn) const;

 private:
  void run(const std::string& cmd) const;
  TempDir dir_{"mqb-pki"};
};

}  // namespace mqb::test

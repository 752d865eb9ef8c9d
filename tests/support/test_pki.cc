#include "tests/support/test_pki.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mqb::test {

void TestPki::run(const std::string& cmd) const {
  const std::string full = "cd '" + dir() + "' && " + cmd + " >>openssl.log 2>&1";
  if (std::system(full.c_str()) != 0) {
    throw std::runtime_error("openssl failed: " + cmd + "\n" + readFile(dir_.file("openssl.log")));
  }
}

TestPki::TestPki(const std::string& clientCn) {
  const std::string key = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ";
  dir_.write("ca.ext",
             "[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
             "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n");
  dir_.write("server.ext",
             "[v3_srv]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
  dir_.write("client.ext",
             "[v3_cli]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=clientAuth\n");
  auto selfSigned = [&](const std::string& name, const std::string& cn) {
    run(key + name + ".key");
    run("openssl req -x509 -new -key " + name + ".key -out " + name +
        ".pem -days 2 -subj /CN=" + cn +
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,"
        "cRLSign");
  };
  auto sign = [&](const std::string& name, const std::string& cn, const std::string& ca,
                  const std::string& ext, const std::string& section) {
    run(key + name + ".key");
    run("openssl req -new -key " + name + ".key -out " + name + ".csr -subj /CN=" + cn);
    run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
        ".key -CAcreateserial -out " + name + ".pem -days 2 -extfile " + ext + " -extensions " +
        section);
  };
  selfSigned("root-ca", "mqb-test-root");
  sign("intermediate-ca", "mqb-test-intermediate", "root-ca", "ca.ext", "v3_ca");
  sign("server", "localhost", "root-ca", "server.ext", "v3_srv");
  sign("client", clientCn, "intermediate-ca", "client.ext", "v3_cli");
  selfSigned("wrong-ca", "mqb-test-wrong-root");
  sign("wrong-server", "localhost", "wrong-ca", "server.ext", "v3_srv");
  // mosquitto (dropping privileges or not) must be able to read the keys.
  run("chmod 0644 *.key *.pem");
}

void TestPki::issueClient(const std::string& name, const std::string& cn) const {
  run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
  run("openssl req -new -key " + name + ".key -out " + name + ".csr -subj /CN=" + cn);
  run("openssl x509 -req -in " + name + ".csr -CA intermediate-ca.pem -CAkey intermediate-ca.key " +
      "-CAcreateserial -out " + name + ".pem -days 2 -extfile client.ext -extensions v3_cli");
  run("chmod 0644 " + name + ".key " + name + ".pem");
}

std::string TestPki::writeX509Secret(const std::string& dir) const {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  fs::copy_file(clientCert(), dir + "/client_cert.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(clientKey(), dir + "/client_key.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(intermediateCa(), dir + "/client_intermediate_certs.pem",
                fs::copy_options::overwrite_existing);
  return dir;
}

}  // namespace mqb::test

// Resolves what a broker connection refers to, the way a pod sees Secrets and ConfigMaps mounted
// (<secrets-dir>/NAME/..., <configmaps-dir>/NAME/*.pem|*.crt, the service account token file),
// and with LoadOptions::checkFiles checks those files: they exist, PEM parses (OpenSSL), an X.509
// key matches its certificate.

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "config/loader_parts.h"
#include "config/network.h"

namespace fs = std::filesystem;

namespace mqb::config {

namespace {

std::string joinPath(const std::string& dir, const std::string& name, const std::string& file) {
  return (fs::path(dir) / name / file).string();
}

int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

std::string opensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return {};
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(" (") + buf + ")";
}

bool isFile(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// "" if `file` holds at least one PEM certificate.
std::string checkCertificates(const std::string& file) {
  if (!isFile(file)) {
    return "file " + file + " does not exist";
  }
  BIO* bio = BIO_new_file(file.c_str(), "r");
  if (bio == nullptr) {
    return "cannot open " + file + opensslError();
  }
  int count = 0;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, noPassphrase, nullptr)) {
    ++count;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  return count > 0 ? std::string() : file + " holds no PEM certificate";
}

/// "" if cert and key files parse and belong together.
std::string checkCertAndKey(const std::string& certFile, const std::string& keyFile) {
  if (auto e = checkCertificates(certFile); !e.empty()) {
    return e;
  }
  if (!isFile(keyFile)) {
    return "file " + keyFile + " does not exist";
  }
  BIO* kb = BIO_new_file(keyFile.c_str(), "r");
  if (kb == nullptr) {
    return "cannot open " + keyFile + opensslError();
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, noPassphrase, nullptr);
  BIO_free(kb);
  if (key == nullptr) {
    return keyFile + " holds no unencrypted PEM private key" + opensslError();
  }
  std::string result;
  BIO* cb = BIO_new_file(certFile.c_str(), "r");
  X509* cert = cb != nullptr ? PEM_read_bio_X509(cb, nullptr, noPassphrase, nullptr) : nullptr;
  if (cert != nullptr && X509_check_private_key(cert, key) != 1) {
    result = keyFile + " does not match the certificate in " + certFile;
  }
  ERR_clear_error();
  X509_free(cert);
  BIO_free(cb);
  EVP_PKEY_free(key);
  return result;
}

std::vector<std::string> pemFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = p.extension().string();
    std::error_code ec2;
    // Mounted ConfigMaps are symlinks into ..data/: follow them, skip the dot entries.
    if ((ext == ".pem" || ext == ".crt") && p.filename().string().front() != '.' &&
        fs::is_regular_file(p, ec2)) {
      out.push_back(p.string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void checkExists(Diagnostics& diag, const Location& at, const std::string& path,
                 const std::string& file, const std::string& what, const std::string& hint) {
  if (!isFile(file)) {
    diag.error(at, path, what + " file " + file + " does not exist (see " + hint + ")");
  }
}

void resolveTls(const LoadOptions& o, BrokerConnection& b, Diagnostics& diag) {
  if (!b.tls.enabled || b.tls.trustedCaCertificateConfigMap.empty()) {
    return;
  }
  const std::string dir =
      (fs::path(o.configmapsDir) / b.tls.trustedCaCertificateConfigMap).string();
  b.tls.caFiles = pemFilesIn(dir);
  if (!o.checkFiles) {
    return;
  }
  const std::string path = b.path + ".tls.trustedCaCertificateConfigMap";
  if (b.tls.caFiles.empty()) {
    diag.error(b.tls.where, path,
               "ConfigMap \"" + b.tls.trustedCaCertificateConfigMap +
                   "\": no *.pem or *.crt file in " + dir + " (see --configmaps-dir)");
  }
  for (const auto& f : b.tls.caFiles) {
    if (auto e = checkCertificates(f); !e.empty()) {
      diag.error(b.tls.where, path, e);
    }
  }
}

void resolveX509(const LoadOptions& o, AuthSpec& a, const std::string& apath, Diagnostics& diag) {
  a.certFile = joinPath(o.secretsDir, a.secretName, "client_cert.pem");
  a.keyFile = joinPath(o.secretsDir, a.secretName, "client_key.pem");
  a.intermediateFile = joinPath(o.secretsDir, a.secretName, "client_intermediate_certs.pem");
  if (!o.checkFiles || a.secretName.empty()) {
    return;
  }
  if (auto e = checkCertAndKey(a.certFile, a.keyFile); !e.empty()) {
    diag.error(a.where, apath + ".x509.secretName",
               "Secret \"" + a.secretName + "\": " + e + " (see --secrets-dir)");
  }
  if (isFile(a.intermediateFile)) {
    if (auto e = checkCertificates(a.intermediateFile); !e.empty()) {
      diag.error(a.where, apath + ".x509.secretName", "Secret \"" + a.secretName + "\": " + e);
    }
  }
}

void resolveUsernamePassword(const LoadOptions& o, AuthSpec& a, const std::string& apath,
                             Diagnostics& diag) {
  a.usernameFile = joinPath(o.secretsDir, a.secretName, "username");
  a.passwordFile = joinPath(o.secretsDir, a.secretName, "password");
  if (o.checkFiles && !a.secretName.empty()) {
    checkExists(diag, a.where, apath + ".usernamePassword.secretName", a.usernameFile,
                "Secret \"" + a.secretName + "\": username", "--secrets-dir");
    checkExists(diag, a.where, apath + ".usernamePassword.secretName", a.passwordFile,
                "Secret \"" + a.secretName + "\": password", "--secrets-dir");
  }
}

}  // namespace

std::string detail::objectNameError(const std::string& name) {
  if (name.empty()) {
    return "must not be empty";
  }
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return "must be a Kubernetes object name (no '/', not '.' or '..'), got \"" + name + "\"";
  }
  return {};
}

void detail::resolveReferences(const LoadOptions& o, BrokerConnection& b, Diagnostics& diag) {
  resolveNetwork(o.secretsDir, o.checkFiles, b, diag);
  resolveTls(o, b, diag);
  AuthSpec& a = b.auth;
  const std::string apath = b.path + ".authentication";
  switch (a.kind) {
    case AuthSpec::Kind::X509:
      resolveX509(o, a, apath, diag);
      break;
    case AuthSpec::Kind::UsernamePassword:
      resolveUsernamePassword(o, a, apath, diag);
      break;
    case AuthSpec::Kind::SystemAssignedManagedIdentity:
      a.arcKeyDir = o.arcKeyDir;
      break;
    case AuthSpec::Kind::Kubernetes:
      a.tokenFile = o.saTokenFile;
      if (o.checkFiles) {
        checkExists(diag, a.where, apath + ".kubernetes", a.tokenFile, "service account token",
                    "--sa-token-file");
      }
      break;
    default:
      break;
  }
}

}  // namespace mqb::config

#include "mqtt/wire/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <new>

namespace mqb::mqtt::wire::tls {
namespace {

using net::errnoText;
using net::Wait;
using net::waitFd;

// ---------------------------------------------------------------------------------------------
// A socket BIO that writes with send(MSG_NOSIGNAL): OpenSSL's own socket BIO uses write(), which
// raises SIGPIPE on a connection the peer reset.
// ---------------------------------------------------------------------------------------------

/// What the BIO keeps: the (non-owned) socket and whether recv() saw EOF.
struct BioState {
  int fd = -1;
  bool eof = false;
};

int bioCreate(BIO* b) {
  BIO_set_data(b, nullptr);
  BIO_set_init(b, 0);
  return 1;
}

int bioDestroy(BIO* b) {
  delete static_cast<BioState*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

int bioRead(BIO* b, char* buf, std::size_t len, std::size_t* got) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *got = 0;
  if (st == nullptr) {
    return 0;
  }
  for (;;) {
    const ssize_t n = ::recv(st->fd, buf, len, MSG_DONTWAIT);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      st->eof = true;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(b);
    }
    return 0;
  }
}

int bioWrite(BIO* b, const char* buf, std::size_t len, std::size_t* put) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *put = 0;
  if (st == nullptr) {
    return 0;
  }
  for (;;) {
    const ssize_t n = ::send(st->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      *put = static_cast<std::size_t>(n);
      return 1;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
    }
    return 0;
  }
}

long bioCtrl(BIO* b, int cmd, long /*num*/, void* ptr) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return (st != nullptr && st->eof) ? 1 : 0;
    case BIO_C_GET_FD:
      if (st == nullptr) {
        return -1;
      }
      if (ptr != nullptr) {
        *static_cast<int*>(ptr) = st->fd;
      }
      return st->fd;
    default:
      return 0;
  }
}

/// The BIO_METHOD, made once per process (never freed).
const BIO_METHOD* socketBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mqb_sock");
    if (m != nullptr) {
      BIO_meth_set_create(m, bioCreate);
      BIO_meth_set_destroy(m, bioDestroy);
      BIO_meth_set_read_ex(m, bioRead);
      BIO_meth_set_write_ex(m, bioWrite);
      BIO_meth_set_ctrl(m, bioCtrl);
    }
    return m;
  }();
  return method;
}

/// A BIO over `fd` (not owning it), or nullptr.
BIO* newSocketBio(int fd) {
  const BIO_METHOD* m = socketBioMethod();
  if (m == nullptr) {
    return nullptr;
  }
  BIO* b = BIO_new(m);
  if (b == nullptr) {
    return nullptr;
  }
  auto* st = new (std::nothrow) BioState;
  if (st == nullptr) {
    BIO_free(b);
    return nullptr;
  }
  st->fd = fd;
  BIO_set_data(b, st);
  BIO_set_init(b, 1);
  return b;
}

/// Never prompts for a passphrase on the terminal (encrypted keys simply fail to load).
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

/// Loads every certificate of a PEM file as extra chain certificates.
bool addChainFile(SSL_CTX* ctx, const std::string& file, std::string& why) {
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) {
    why = sslErrors();
    return false;
  }
  int count = 0;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr);
    if (x == nullptr) {
      break;
    }
    if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {  // takes ownership on success
      X509_free(x);
      why = sslErrors();
      return false;
    }
    ++count;
  }
  const unsigned long last = ERR_peek_last_error();
  if (count > 0 && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();  // the normal end of the file
    return true;
  }
  why = count == 0 ? "no certificate found" : sslErrors();
  ERR_clear_error();
  return false;
}

}  // namespace

std::string sslErrors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::string text;
    if (ERR_SYSTEM_ERROR(e)) {
      text = errnoText(ERR_GET_REASON(e));
    } else if (const char* reason = ERR_reason_error_string(e); reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      text = buf;
    }
    if (text.empty() || text == "system lib" || out.find(text) != std::string::npos) {
      continue;
    }
    if (!out.empty()) {
      out += "; ";
    }
    out += text;
  }
  return out;
}

SslCtxPtr makeContext(const TransportOptions& o, ConnectError& err) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  auto setupFailed = [&](const std::string& detail) {
    err = {Cause::TlsSetupFailed, detail};
    ERR_clear_error();
    return nullptr;
  };
  if (!ctx) {
    return setupFailed("SSL_CTX_new: " + sslErrors());
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_default_passwd_cb(ctx.get(), noPassphrase);
  SSL_CTX_set_verify(ctx.get(), o.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (o.caFiles.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return setupFailed("system trust store: " + sslErrors());
    }
  } else {
    for (const auto& f : o.caFiles) {
      if (SSL_CTX_load_verify_locations(ctx.get(), f.c_str(), nullptr) != 1) {
        return setupFailed("CA file " + f + ": " + sslErrors());
      }
    }
  }
  if (!o.certFile.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.certFile.c_str()) != 1) {
      return setupFailed("client certificate " + o.certFile + ": " + sslErrors());
    }
    if (!o.intermediateFile.empty()) {
      std::string why;
      if (!addChainFile(ctx.get(), o.intermediateFile, why)) {
        return setupFailed("intermediate certificates " + o.intermediateFile + ": " + why);
      }
    }
    const std::string& key = o.keyFile.empty() ? o.certFile : o.keyFile;
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return setupFailed("client key " + key + ": " + sslErrors());
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return setupFailed("client key " + key + " does not match certificate " + o.certFile);
    }
  } else if (!o.keyFile.empty()) {
    return setupFailed("client key " + o.keyFile + " given without a client certificate");
  }
  if (!o.alpn.empty()) {
    std::string wire;
    if (!alpnProtocols(o.alpn, wire)) {
      return setupFailed("ALPN protocol names must be 1 to 255 bytes");
    }
    // Unlike every other OpenSSL setter, 0 means success here.
    if (SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      return setupFailed("ALPN: " + sslErrors());
    }
  }
  return ctx;
}

bool alpnProtocols(const std::vector<std::string>& names, std::string& out) {
  out.clear();
  for (const auto& n : names) {
    if (n.empty() || n.size() > 255) {
      return false;
    }
    out.push_back(static_cast<char>(n.size()));
    out.append(n);
  }
  return out.size() <= 65535;
}

SslPtr makeSsl(SSL_CTX* ctx, int fd, const std::string& host, bool hostIsIp, bool verifyPeer,
               ConnectError& err) {
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx));
  BIO* bio = ssl ? newSocketBio(fd) : nullptr;
  if (!ssl || bio == nullptr) {
    err = {Cause::TlsSetupFailed, "SSL_new: " + sslErrors()};
    return nullptr;
  }
  SSL_set_bio(ssl.get(), bio, bio);  // one reference, owned by the SSL now
  std::string name = host;
  if (!hostIsIp && !name.empty() && name.back() == '.') {
    name.pop_back();  // "example.com." -> SNI and certificate names have no root dot
  }
  bool ok = true;
  if (!hostIsIp) {
    ok = SSL_set_tlsext_host_name(ssl.get(), name.c_str()) == 1;
  }
  if (ok && verifyPeer) {
    if (hostIsIp) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl.get(), name.c_str()) == 1;
    }
  }
  if (!ok) {
    err = {Cause::TlsSetupFailed, "cannot use host name " + host + ": " + sslErrors()};
    return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

bool handshake(SSL* ssl, int fd, bool verifyPeer, net::Clock::time_point deadline, int abortFd,
               ConnectError& err) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_connect(ssl);
    if (r == 1) {
      if (verifyPeer && SSL_get_verify_result(ssl) != X509_V_OK) {  // defensive: cannot happen
        err = {Cause::TlsHandshakeFailed,
               std::string("certificate verify failed: ") +
                   X509_verify_cert_error_string(SSL_get_verify_result(ssl))};
        return false;
      }
      return true;
    }
    const int savedErrno = errno;
    const int e = SSL_get_error(ssl, r);
    short events = 0;
    if (e == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      const long v = SSL_get_verify_result(ssl);
      std::string detail;
      if (verifyPeer && v != X509_V_OK) {
        detail = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
        ERR_clear_error();
      } else {
        detail = sslErrors();
        if (detail.empty()) {
          detail = (e == SSL_ERROR_SYSCALL && savedErrno != 0)
                       ? errnoText(savedErrno)
                       : "connection closed by peer during the TLS handshake";
        }
      }
      err = {Cause::TlsHandshakeFailed, detail};
      return false;
    }
    std::string why;
    switch (waitFd(fd, events, deadline, abortFd, why)) {
      case Wait::Ready:
        break;
      case Wait::Timeout:
        err = {Cause::ConnectTimeout, "TLS handshake took too long"};
        return false;
      case Wait::Aborted:
        err = {Cause::Aborted, "aborted during the TLS handshake"};
        return false;
      case Wait::Failed:
        err = {Cause::TlsHandshakeFailed, why};
        return false;
    }
  }
}

}  // namespace mqb::mqtt::wire::tls

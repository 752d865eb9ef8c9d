#pragma once
// TLS for the transport (internal to mqtt/wire): the SSL_CTX from the transport options (trust,
// client certificate chain and key, TLS >= 1.2), an SSL over a non-blocking socket with SNI and
// host name / IP verification, and a handshake bounded by a deadline.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "mqtt/wire/net.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt::wire::tls {

/// Drains OpenSSL's (thread-local) error queue into "reason; reason" (system errors as strerror
/// text, the full code when OpenSSL has no reason text; generic "system lib" entries and
/// repeats dropped).
std::string sslErrors();

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

/// Builds the SSL_CTX: trust, client certificate/chain/key, TLS >= 1.2, verification mode, ALPN.
/// Null with TlsSetupFailed (naming the file) when a file cannot be used.
SslCtxPtr makeContext(const TransportOptions& o, ConnectError& err);

/// The ALPN protocol list in its wire form (RFC 7301: each name prefixed by its length); false if
/// a name is empty or longer than 255 bytes.
bool alpnProtocols(const std::vector<std::string>& names, std::string& out);

/// Creates the SSL over `fd` (not owned; written with send(MSG_NOSIGNAL), never raising SIGPIPE)
/// with SNI and host/IP verification set up.
SslPtr makeSsl(SSL_CTX* ctx, int fd, const std::string& host, bool hostIsIp, bool verifyPeer,
               ConnectError& err);

/// Non-blocking SSL_connect until done, the deadline or an abort.
bool handshake(SSL* ssl, int fd, bool verifyPeer, net::Clock::time_point deadline, int abortFd,
               ConnectError& err);

}  // namespace mqb::mqtt::wire::tls

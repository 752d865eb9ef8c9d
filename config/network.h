#pragma once
// Network paths of a broker connection (extensions beyond the spec): the proxy (`proxy`, or
// HTTPS_PROXY / NO_PROXY from the environment), failover endpoints (`failover`) and the TLS ALPN
// list (`tls.alpn`). Parsed into the model with the loader's diagnostics; the proxy's Secret and
// the environment are resolved after parsing.

#include <cstdint>
#include <string>

#include "config/fields.h"
#include "config/model.h"

namespace mqb::config {

/// Parses `proxy` and `failover` of a broker connection mapping into `b`.
void parseNetwork(Fields& f, BrokerConnection& b);
/// Parses `tls.alpn` into `tls`.
void parseAlpn(Fields& tls, TlsSpec& spec);

/// After parsing: the proxy's Secret files (checked with `checkFiles`) or, for the remote broker
/// connection without a `proxy` mapping, the environment's proxy (an unusable HTTPS_PROXY is an
/// error at the connection). The local broker connection uses a proxy only when configured.
void resolveNetwork(const std::string& secretsDir, bool checkFiles, BrokerConnection& b,
                    Diagnostics& diag);

/// A proxy URL: [scheme://][user[:password]@]host:port[/]. Schemes: http (also when none),
/// socks5, socks5h. "" if valid (fills kind, host, port and, percent-decoded, the credentials),
/// else what is wrong (never quoting the credentials).
std::string parseProxyUrl(const std::string& url, ProxySpec::Kind& kind, std::string& host,
                          std::uint16_t& port, std::string& username, std::string& password);

/// Whether connections to `host` go through `p`: always for Config, for Environment unless a
/// NO_PROXY entry matches ("*"; the host itself; a domain suffix, with or without its leading
/// dot; an IP literal exactly).
bool proxyApplies(const ProxySpec& p, const std::string& host);

/// "http://host:port" / "socks5://host:port" without credentials, and where it came from.
std::string describeProxy(const ProxySpec& p);

}  // namespace mqb::config

#pragma once
// Proxies in front of the broker (internal to mqtt/wire): an HTTP CONNECT tunnel (RFC 9110
// section 9.3.6, Basic authentication per RFC 7617) or a SOCKS5 connect (RFC 1928, username and
// password per RFC 1929), set up on a connected TCP socket before TLS or the WebSocket upgrade.
// The exchange parsers are socket-free so that they can be tested and fuzzed on their own; the
// proxy's answers are read with a bound, never beyond what belongs to the exchange (the tunnel's
// first bytes stay in the socket for TLS or MQTT).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/wire/net.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt::wire {

/// Upper bound of a CONNECT response's status line and headers.
inline constexpr std::size_t kMaxProxyResponse = 8 * 1024;

/// The CONNECT request for host:port (an IPv6 literal is bracketed), with a Proxy-Authorization
/// Basic header when `username` is not empty. Empty if host, username or password hold control
/// characters (they would split the request) or the username holds ':' (RFC 7617).
std::string proxyConnectRequest(const std::string& host, std::uint16_t port, bool hostIsIpv6,
                                const std::string& username, const std::string& password);

/// Checks a CONNECT response `head` (status line and headers through the CRLF of the last header
/// line, without the blank line). `status` is the status code once the status line parsed
/// (0 otherwise). True only for a well-formed HTTP/1.x 2xx answer; else `why` says what the proxy
/// answered or what was malformed (printable, bounded).
bool checkProxyResponse(std::string_view head, int& status, std::string& why);

/// SOCKS5: the greeting offering "no authentication", and "username/password" when `withAuth`.
std::string socks5Greeting(bool withAuth);
/// SOCKS5: the RFC 1929 sub-negotiation; empty if a field is empty or longer than 255 bytes.
std::string socks5Auth(const std::string& username, const std::string& password);
/// SOCKS5: the CONNECT request for host:port (IPv4/IPv6 literal or a name of at most 255 bytes;
/// empty otherwise).
std::string socks5Connect(const std::string& host, std::uint16_t port);
/// SOCKS5: how many bytes the CONNECT reply starting with `got` has in all once its address type
/// is known (0 while fewer than 5 bytes are there), or -1 with `why` when what is there already
/// breaks the protocol or refuses (version, reply code, reserved byte, address type).
long socks5ReplySize(std::string_view got, std::string& why);

/// On `fd` (connected to the proxy): asks it for a tunnel to host:port and waits for the answer,
/// by the deadline or until `abortFd` is readable. False with ProxyRefused (the proxy answered
/// and said no: detail its status line or SOCKS reply), ProxyProtocolError (an answer that is
/// not HTTP/SOCKS, too large, or cut short), ConnectTimeout or Aborted. Details never hold the
/// credentials.
bool openTunnel(int fd, const ProxySettings& p, const std::string& host, std::uint16_t port,
                net::Clock::time_point deadline, int abortFd, ConnectError& err);

}  // namespace mqb::mqtt::wire

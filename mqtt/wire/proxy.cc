#include "mqtt/wire/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/text.h"
#include "mqtt/wire/websocket.h"

namespace mqb::mqtt::wire {
namespace {

using common::printable;

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

/// The header field name of RFC 9110 section 5.1 (a token).
bool isToken(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

/// A header line of a response: "name: value" with a token name and no control characters but
/// HTAB in the value (no obsolete line folding).
bool validHeaderLine(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
    return false;
  }
  const std::string_view value = line.substr(colon + 1);
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

/// `s` made printable (at most `max` bytes) in double quotes.
std::string quoted(std::string_view s, std::size_t max) {
  std::string q = printable(s, max);
  q.insert(q.begin(), '"');
  q.push_back('"');
  return q;
}

void appendPort(std::string& out, std::uint16_t port) {
  out.push_back(static_cast<char>(port >> 8));
  out.push_back(static_cast<char>(port & 0xFF));
}

using Clock = net::Clock;

/// Waits for `events` on fd; false with `err` (ConnectTimeout, Aborted, ProxyProtocolError).
bool waitProxy(int fd, short events, Clock::time_point deadline, int abortFd, ConnectError& err) {
  std::string why;
  switch (net::waitFd(fd, events, deadline, abortFd, why)) {
    case net::Wait::Ready:
      return true;
    case net::Wait::Timeout:
      err = {Cause::ConnectTimeout, "the proxy did not answer in time"};
      return false;
    case net::Wait::Aborted:
      err = {Cause::Aborted, "aborted while talking to the proxy"};
      return false;
    case net::Wait::Failed:
      err = {Cause::ProxyProtocolError, why};
      return false;
  }
  return false;
}

bool sendAll(int fd, std::string_view data, Clock::time_point deadline, int abortFd,
             ConnectError& err) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitProxy(fd, POLLOUT, deadline, abortFd, err)) {
        return false;
      }
    } else if (errno != EINTR) {
      err = {Cause::ProxyProtocolError, "sending to the proxy: " + net::errnoText(errno)};
      return false;
    }
  }
  return true;
}

/// Receives more of the proxy's answer into `buf` (which must stay below `cap` bytes), waiting
/// for at least one byte. With `headers`, never takes a byte beyond the blank line that ends
/// the headers (MSG_PEEK first, then only what belongs to them): what follows is the tunnel's.
/// False with `err` on EOF, error, timeout or abort.
bool receiveMore(int fd, std::string& buf, std::size_t cap, bool headers,
                 Clock::time_point deadline, int abortFd, ConnectError& err) {
  char tmp[1024];
  for (;;) {
    const std::size_t room = std::min(sizeof tmp, cap - buf.size());
    const ssize_t n = ::recv(fd, tmp, room, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
      std::size_t take = static_cast<std::size_t>(n);
      if (headers) {
        const std::size_t from = buf.size() < 3 ? 0 : buf.size() - 3;
        std::string joined = buf.substr(from);
        joined.append(tmp, take);
        if (const auto end = joined.find("\r\n\r\n"); end != std::string::npos) {
          take = from + end + 4 - buf.size();
        }
      }
      const ssize_t r = ::recv(fd, tmp, take, MSG_DONTWAIT);  // the bytes peeked above
      if (r != static_cast<ssize_t>(take)) {
        err = {Cause::ProxyProtocolError, "reading the proxy's answer failed"};
        return false;
      }
      buf.append(tmp, take);
      return true;
    }
    if (n == 0) {
      err = {Cause::ProxyProtocolError,
             "the proxy closed the connection" +
                 (buf.empty() ? std::string(" without answering")
                              : " after " + std::to_string(buf.size()) + " bytes of its answer")};
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      err = {Cause::ProxyProtocolError, "reading the proxy's answer: " + net::errnoText(errno)};
      return false;
    }
    if (!waitProxy(fd, POLLIN, deadline, abortFd, err)) {
      return false;
    }
  }
}

bool httpTunnel(int fd, const ProxySettings& p, const std::string& host, std::uint16_t port,
                Clock::time_point deadline, int abortFd, ConnectError& err) {
  in6_addr v6{};
  const bool isIpv6 = inet_pton(AF_INET6, host.c_str(), &v6) == 1;
  std::string request = proxyConnectRequest(host, port, isIpv6, p.username, p.password);
  if (request.empty()) {
    err = {Cause::ProxyProtocolError, "invalid characters in the host or the proxy credentials"};
    return false;
  }
  const bool sent = sendAll(fd, request, deadline, abortFd, err);
  std::fill(request.begin(), request.end(), '\0');  // it held the credentials
  if (!sent) {
    return false;
  }
  std::string buf;
  std::size_t end = std::string::npos;
  while (end == std::string::npos) {
    if (buf.size() >= kMaxProxyResponse) {
      err = {Cause::ProxyProtocolError,
             "the proxy's answer headers exceed " + std::to_string(kMaxProxyResponse) +
                 " bytes (got: " + printable(buf.substr(0, buf.find("\r\n"))) + ")"};
      return false;
    }
    const std::size_t from = buf.size() < 3 ? 0 : buf.size() - 3;
    if (!receiveMore(fd, buf, kMaxProxyResponse, true, deadline, abortFd, err)) {
      return false;
    }
    end = buf.find("\r\n\r\n", from);
  }
  int status = 0;
  std::string why;
  if (!checkProxyResponse(std::string_view(buf).substr(0, end + 2), status, why)) {
    err = {status != 0 ? Cause::ProxyRefused : Cause::ProxyProtocolError, "HTTP CONNECT: " + why};
    return false;
  }
  return true;
}

/// Receives a SOCKS answer until `out` holds `n` bytes.
bool readExact(int fd, std::size_t n, std::string& out, Clock::time_point deadline, int abortFd,
               ConnectError& err) {
  while (out.size() < n) {
    if (!receiveMore(fd, out, n, false, deadline, abortFd, err)) {
      return false;
    }
  }
  return true;
}

bool socksHandshake(int fd, const ProxySettings& p, Clock::time_point deadline, int abortFd,
                    ConnectError& err) {
  const bool withAuth = !p.username.empty();
  std::string answer;
  if (!sendAll(fd, socks5Greeting(withAuth), deadline, abortFd, err) ||
      !readExact(fd, 2, answer, deadline, abortFd, err)) {
    return false;
  }
  const auto method = static_cast<unsigned char>(answer[1]);
  if (answer[0] != 5) {
    err = {Cause::ProxyProtocolError, "SOCKS5: the answer is not SOCKS version 5"};
    return false;
  }
  if (method == 0xFF || (method == 2 && !withAuth) || (method != 0 && method != 2)) {
    err = {Cause::ProxyRefused, "SOCKS5: no acceptable authentication method"};
    return false;
  }
  if (method == 0) {
    return true;
  }
  std::string auth = socks5Auth(p.username, p.password);
  if (auth.empty()) {
    err = {Cause::ProxyProtocolError, "SOCKS5: a user name or password longer than 255 bytes"};
    return false;
  }
  const bool sent = sendAll(fd, auth, deadline, abortFd, err);
  std::fill(auth.begin(), auth.end(), '\0');
  answer.clear();
  if (!sent || !readExact(fd, 2, answer, deadline, abortFd, err)) {
    return false;
  }
  if (answer[0] != 1 || answer[1] != 0) {
    err = {Cause::ProxyRefused, "SOCKS5: the proxy refused the user name and password"};
    return false;
  }
  return true;
}

bool socksTunnel(int fd, const ProxySettings& p, const std::string& host, std::uint16_t port,
                 Clock::time_point deadline, int abortFd, ConnectError& err) {
  if (!socksHandshake(fd, p, deadline, abortFd, err)) {
    return false;
  }
  const std::string request = socks5Connect(host, port);
  if (request.empty()) {
    err = {Cause::ProxyProtocolError, "SOCKS5: the host name is longer than 255 bytes"};
    return false;
  }
  if (!sendAll(fd, request, deadline, abortFd, err)) {
    return false;
  }
  std::string got;
  std::string why;
  const bool head = readExact(fd, 5, got, deadline, abortFd, err);
  const long size = socks5ReplySize(got, why);  // a refusal may come in fewer than 5 bytes
  if (!head && size >= 0) {
    return false;
  }
  if (size < 0) {
    const bool refused = got.size() >= 2 && got[0] == 5 && got[1] != 0;
    err = {refused ? Cause::ProxyRefused : Cause::ProxyProtocolError, "SOCKS5: " + why};
    return false;
  }
  return readExact(fd, static_cast<std::size_t>(size), got, deadline, abortFd, err);
}

}  // namespace

std::string proxyConnectRequest(const std::string& host, std::uint16_t port, bool hostIsIpv6,
                                const std::string& username, const std::string& password) {
  if (host.empty() || hasControl(host) || host.find(' ') != std::string::npos ||
      hasControl(username) || hasControl(password) || username.find(':') != std::string::npos) {
    return {};
  }
  std::string authority;
  if (hostIsIpv6) {
    authority.append("[").append(host).append("]");
  } else {
    authority.append(host);
  }
  authority.append(":").append(std::to_string(port));
  std::string r;
  r.append("CONNECT ").append(authority).append(" HTTP/1.1\r\nHost: ").append(authority);
  if (!username.empty()) {
    std::string pair = username;
    pair.append(":").append(password);
    r.append("\r\nProxy-Authorization: Basic ")
        .append(base64Encode(reinterpret_cast<const unsigned char*>(pair.data()), pair.size()));
    std::fill(pair.begin(), pair.end(), '\0');
  }
  r.append("\r\n\r\n");
  return r;
}

bool checkProxyResponse(std::string_view head, int& status, std::string& why) {
  status = 0;
  const auto eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  // "HTTP/1.1 200 Connection established": version, SP, three digits of a class 1xx to 5xx, then
  // SP reason or nothing.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ' || line[9] < '1' || line[9] > '5' ||
      !std::all_of(line.begin() + 10, line.begin() + 12,
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      (line.size() > 12 && line[12] != ' ') || hasControl(line)) {
    why = quoted(line, 80).insert(0, "not an HTTP/1.x status line: ");
    return false;
  }
  status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    const auto e = rest.find("\r\n");
    const std::string_view h = rest.substr(0, e);
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e + 2);
    if (!validHeaderLine(h)) {
      why = quoted(line, 80).append(" with a malformed header line");
      status = 0;
      return false;
    }
  }
  if (status < 200 || status > 299) {
    why = quoted(line, 120).insert(0, "the proxy answered ");
    if (status == 407 || status == 401) {  // some proxies (tinyproxy) answer 401
      why += " (proxy authentication required or refused)";
    }
    return false;
  }
  return true;
}

std::string socks5Greeting(bool withAuth) {
  return withAuth ? std::string("\x05\x02\x00\x02", 4) : std::string("\x05\x01\x00", 3);
}

std::string socks5Auth(const std::string& username, const std::string& password) {
  if (username.empty() || username.size() > 255 || password.size() > 255) {
    return {};
  }
  std::string r;
  r.push_back(1);
  r.push_back(static_cast<char>(username.size()));
  r.append(username);
  r.push_back(static_cast<char>(password.size()));
  r.append(password);
  return r;
}

std::string socks5Connect(const std::string& host, std::uint16_t port) {
  std::string r("\x05\x01\x00", 3);
  in6_addr v6{};
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    r.push_back(1);
    r.append(reinterpret_cast<const char*>(&v4), 4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    r.push_back(4);
    r.append(reinterpret_cast<const char*>(&v6), 16);
  } else {
    if (host.empty() || host.size() > 255) {
      return {};
    }
    r.push_back(3);
    r.push_back(static_cast<char>(host.size()));
    r.append(host);
  }
  appendPort(r, port);
  return r;
}

long socks5ReplySize(std::string_view got, std::string& why) {
  static constexpr const char* kReplies[] = {"succeeded",
                                             "general SOCKS server failure",
                                             "connection not allowed by ruleset",
                                             "network unreachable",
                                             "host unreachable",
                                             "connection refused",
                                             "TTL expired",
                                             "command not supported",
                                             "address type not supported"};
  if (!got.empty() && got[0] != 5) {
    why = "the reply is not SOCKS version 5";
    return -1;
  }
  if (got.size() >= 2 && got[1] != 0) {
    const auto rep = static_cast<unsigned char>(got[1]);
    why = std::string("the proxy refused the connection: ") +
          (rep < 9 ? kReplies[rep] : "reply code " + std::to_string(rep));
    return -1;
  }
  if (got.size() >= 3 && got[2] != 0) {
    why = "reserved byte of the reply is not zero";
    return -1;
  }
  if (got.size() < 5) {
    return 0;
  }
  switch (got[3]) {
    case 1:
      return 4 + 4 + 2;
    case 4:
      return 4 + 16 + 2;
    case 3:
      return 4 + 1 + static_cast<unsigned char>(got[4]) + 2;
    default:
      why = "unknown address type in the reply";
      return -1;
  }
}

bool openTunnel(int fd, const ProxySettings& p, const std::string& host, std::uint16_t port,
                Clock::time_point deadline, int abortFd, ConnectError& err) {
  switch (p.kind) {
    case ProxySettings::Kind::None:
      return true;
    case ProxySettings::Kind::HttpConnect:
      return httpTunnel(fd, p, host, port, deadline, abortFd, err);
    case ProxySettings::Kind::Socks5:
      return socksTunnel(fd, p, host, port, deadline, abortFd, err);
  }
  return false;
}

}  // namespace mqb::mqtt::wire

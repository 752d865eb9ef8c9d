#include "config/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "config/loader.h"

namespace mqb::config {
namespace {

namespace fs = std::filesystem;

/// Lower-case ASCII.
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// %XX decoding of URL user info; false on a malformed escape.
bool percentDecode(const std::string& in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return false;
    }
    out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
    i += 2;
  }
  return true;
}

/// The first non-empty of two environment variables; `name` says which.
std::string environment(const char* upper, const char* lowerName, std::string& name) {
  for (const char* v : {upper, lowerName}) {
    const char* value = std::getenv(v);
    if (value != nullptr && *value != '\0') {
      name = v;
      return value;
    }
  }
  return {};
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= s.size()) {
    const auto comma = s.find(',', from);
    std::string item =
        s.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      out.push_back(lower(item));
    }
    if (comma == std::string::npos) {
      break;
    }
    from = comma + 1;
  }
  return out;
}

bool isIp(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 || inet_pton(AF_INET, host.c_str(), &v4) == 1;
}

void parseProxy(Fields& f, BrokerConnection& b) {
  YAML::Node n = f.mapping("proxy");
  if (!n.IsDefined()) {
    return;
  }
  Fields g(n, f.file(), f.pathOf("proxy"), f.diag());
  ProxySpec& p = b.proxy;
  p.configured = true;
  p.where = g.location();
  const auto direct = g.boolean("direct");
  const auto url = g.str("url");
  const auto secret = g.str("secretName");
  g.finish();
  if (!g.ok()) {
    return;
  }
  if (direct.value_or(false)) {
    if (url || secret) {
      g.error("direct", "direct: true connects without a proxy; it excludes url and secretName");
    }
    return;
  }
  if (!url) {
    g.error("", "needs url (http://host:port or socks5://host:port), or direct: true");
    return;
  }
  std::string user;
  std::string password;
  if (auto e = parseProxyUrl(*url, p.kind, p.host, p.port, user, password); !e.empty()) {
    g.error("url", e);
    return;
  }
  if (!user.empty()) {
    g.error("url",
            "credentials do not belong in the URL: put them in a Secret named by secretName");
    return;
  }
  if (secret) {
    if (secret->empty() ||
        secret->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos) {
      g.error("secretName",
              "must be a Kubernetes object name (lower-case letters, digits, '-', '.')");
      return;
    }
    p.secretName = *secret;
  }
  p.source = ProxySpec::Source::Config;
}

void parseFailover(Fields& f, BrokerConnection& b) {
  YAML::Node n = f.mapping("failover");
  if (!n.IsDefined()) {
    return;
  }
  Fields g(n, f.file(), f.pathOf("failover"), f.diag());
  if (YAML::Node eps = g.sequence("endpoints", true); eps.IsDefined()) {
    for (std::size_t i = 0; i < eps.size(); ++i) {
      const std::string path = g.pathOf("endpoints") + "[" + std::to_string(i) + "]";
      const Location at = locationOf(eps[i], f.file());
      if (!eps[i].IsScalar()) {
        f.diag().error(at, path, "expected \"host:port\"");
        continue;
      }
      EndpointSpec e;
      e.endpoint = eps[i].Scalar();
      if (auto err = parseEndpoint(e.endpoint, e.host, e.port); !err.empty()) {
        f.diag().error(at, path, err);
        continue;
      }
      b.fallbackEndpoints.push_back(std::move(e));
    }
    if (eps.size() == 0) {
      g.error("endpoints", "needs at least one \"host:port\"");
    }
  }
  b.returnToPrimary = g.boolean("returnToPrimary").value_or(true);
  if (auto s = g.integer("primaryCheckSeconds", false, 1, 86400)) {
    b.primaryCheckSeconds = static_cast<int>(*s);
    if (!b.returnToPrimary) {
      g.warning("primaryCheckSeconds", "ignored because returnToPrimary is false");
    }
  }
  g.finish();
}

void proxyFromEnvironment(BrokerConnection& b, Diagnostics& diag) {
  ProxySpec& p = b.proxy;
  std::string var;
  const std::string url = environment("HTTPS_PROXY", "https_proxy", var);
  if (url.empty()) {
    return;
  }
  if (auto e = parseProxyUrl(url, p.kind, p.host, p.port, p.username, p.password); !e.empty()) {
    diag.error(b.where, b.path, "the proxy in " + var + " cannot be used: " + e);
    return;
  }
  p.source = ProxySpec::Source::Environment;
  p.variable = var;
  p.where = b.where;
  std::string noVar;
  p.noProxy = splitList(environment("NO_PROXY", "no_proxy", noVar));
}

}  // namespace

void parseNetwork(Fields& f, BrokerConnection& b) {
  parseProxy(f, b);
  parseFailover(f, b);
}

void parseAlpn(Fields& tls, TlsSpec& spec) {
  const auto list = tls.strings("alpn");
  if (!list) {
    return;
  }
  std::size_t total = 0;
  for (const auto& name : *list) {
    if (name.empty() || name.size() > 255) {
      tls.error("alpn", "each protocol name must be 1 to 255 bytes, got \"" + name + "\"");
      return;
    }
    total += name.size() + 1;
  }
  if (list->empty() || total > 65535) {
    tls.error("alpn", list->empty() ? "needs at least one protocol name (or leave alpn out)"
                                    : "the list is longer than TLS allows");
    return;
  }
  if (!spec.enabled) {
    tls.warning("alpn", "ignored because tlsEnabled is false");
  }
  spec.alpn = *list;
}

void resolveNetwork(const std::string& secretsDir, bool checkFiles, BrokerConnection& b,
                    Diagnostics& diag) {
  ProxySpec& p = b.proxy;
  if (!p.configured) {
    if (b.path == "spec.remoteBrokerConnection") {  // the environment is for the way out
      proxyFromEnvironment(b, diag);
    }
    return;
  }
  if (p.source != ProxySpec::Source::Config || p.secretName.empty()) {
    return;
  }
  const fs::path dir = fs::path(secretsDir) / p.secretName;
  p.usernameFile = (dir / "username").string();
  p.passwordFile = (dir / "password").string();
  if (!checkFiles) {
    return;
  }
  for (const auto& f : {p.usernameFile, p.passwordFile}) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) {
      diag.error(p.where, b.path + ".proxy.secretName",
                 "Secret \"" + p.secretName + "\": " + f + " not found (see --secrets-dir)");
    }
  }
}

std::string parseProxyUrl(const std::string& url, ProxySpec::Kind& kind, std::string& host,
                          std::uint16_t& port, std::string& username, std::string& password) {
  std::string rest = url;
  kind = ProxySpec::Kind::Http;
  if (const auto s = rest.find("://"); s != std::string::npos) {
    const std::string scheme = lower(rest.substr(0, s));
    if (scheme == "socks5" || scheme == "socks5h") {
      kind = ProxySpec::Kind::Socks5;
    } else if (scheme != "http") {
      return "scheme \"" + scheme + "\" is not supported (http or socks5)";
    }
    rest.erase(0, s + 3);
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  username.clear();
  password.clear();
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string info = rest.substr(0, at);
    rest.erase(0, at + 1);
    const auto colon = info.find(':');
    if (!percentDecode(info.substr(0, colon), username) ||
        (colon != std::string::npos && !percentDecode(info.substr(colon + 1), password))) {
      return "malformed percent escape in the user info";
    }
  }
  if (rest.find('/') != std::string::npos) {
    return "a proxy URL has no path";
  }
  if (auto e = parseEndpoint(rest, host, port); !e.empty()) {
    return e;
  }
  return {};
}

bool proxyApplies(const ProxySpec& p, const std::string& host) {
  if (p.source == ProxySpec::Source::None) {
    return false;
  }
  if (p.source == ProxySpec::Source::Config) {
    return true;
  }
  const std::string h = lower(host);
  for (std::string entry : p.noProxy) {
    if (entry == "*") {
      return false;
    }
    if (!entry.empty() && entry.front() == '[' && entry.back() == ']') {
      entry = entry.substr(1, entry.size() - 2);
    }
    if (isIp(h) || isIp(entry)) {
      if (entry == h) {
        return false;
      }
      continue;
    }
    if (entry.front() == '.') {
      entry.erase(0, 1);
    }
    if (h == entry ||
        (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
         h[h.size() - entry.size() - 1] == '.')) {
      return false;
    }
  }
  return true;
}

std::string describeProxy(const ProxySpec& p) {
  if (p.source == ProxySpec::Source::None) {
    return "direct";
  }
  std::string out = p.kind == ProxySpec::Kind::Socks5 ? "socks5://" : "http://";
  if (p.host.find(':') != std::string::npos) {
    out.append("[").append(p.host).append("]");
  } else {
    out.append(p.host);
  }
  out.append(":").append(std::to_string(p.port));
  if (p.source == ProxySpec::Source::Environment) {
    out.append(" from ").append(p.variable);
    if (!p.username.empty()) {
      out.append(" with credentials");
    }
  } else if (!p.secretName.empty()) {
    out.append(" with credentials from Secret ").append(p.secretName);
  }
  return out;
}

}  // namespace mqb::config

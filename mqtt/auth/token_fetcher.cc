#include "sources/mqtt/token_fetcher.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "metrics/log.h"

namespace mqb::sources {
namespace {

std::string urlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) {
      break;
    }
    const std::size_t n = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (n == 0) {
      break;
    }
    out += body.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

}  // namespace

std::optional<HttpResponse> httpGet(const std::string& url, const std::string& headers,
                                    std::string& error) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) {
    error = "only http:// token endpoints are supported";
    return std::nullopt;
  }
  std::string rest = url.substr(prefix.size());
  const auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = hostport;
  std::string port = "80";
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') {
      port = hostport.substr(close + 2);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = std::string("resolve: ") + gai_strerror(rc);
    return std::nullopt;
  }
  Fd s;
  s.fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (s.fd < 0) {
    freeaddrinfo(res);
    error = "socket failed";
    return std::nullopt;
  }
  fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
  int rc = connect(s.fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) {
    error = std::string("connect: ") + std::strerror(errno);
    return std::nullopt;
  }
  pollfd p{s.fd, POLLOUT, 0};
  if (poll(&p, 1, 5000) != 1) {
    error = "connect timeout";
    return std::nullopt;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr != 0) {
    error = std::string("connect: ") + std::strerror(soerr);
    return std::nullopt;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostport +
                          "\r\nMetadata: true\r\nConnection: close\r\n" + headers + "\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    pollfd w{s.fd, POLLOUT, 0};
    if (poll(&w, 1, 5000) != 1) {
      error = "send timeout";
      return std::nullopt;
    }
    ssize_t n = send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno != EAGAIN) {
      error = "send failed";
      return std::nullopt;
    }
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::string raw;
  char buf[4096];
  while (raw.size() < (1u << 20)) {
    pollfd r{s.fd, POLLIN, 0};
    if (poll(&r, 1, 5000) != 1) {
      error = "read timeout";
      return std::nullopt;
    }
    ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      error = "read failed";
      return std::nullopt;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  const auto hdrEnd = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || hdrEnd == std::string::npos) {
    error = "malformed HTTP response";
    return std::nullopt;
  }
  HttpResponse out;
  out.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  std::istringstream hs(raw.substr(0, hdrEnd));
  std::string line;
  bool chunked = false;
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.erase(0, 1);
    }
    if (name == "www-authenticate") {
      out.wwwAuthenticate = value;
    } else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
  }
  out.body = raw.substr(hdrEnd + 4);
  if (chunked) {
    out.body = dechunk(out.body);
  }
  return out;
}

TokenFetcher::TokenFetcher(std::string endpoint, std::string audience)
    : endpoint_(std::move(endpoint)), audience_(std::move(audience)) {
  if (endpoint_.empty()) {
    if (const char* e = std::getenv("IDENTITY_ENDPOINT"); e != nullptr && *e != '\0') {
      endpoint_ = e;
      arc_ = true;
    } else if (const char* i = std::getenv("IMDS_ENDPOINT"); i != nullptr && *i != '\0') {
      endpoint_ = std::string(i) + "/metadata/identity/oauth2/token";
    } else {
      endpoint_ = "http://169.254.169.254/metadata/identity/oauth2/token";
    }
  } else {
    arc_ = true;
  }
}

TokenFetcher::~TokenFetcher() { stop(); }

std::string TokenFetcher::url() const {
  return endpoint_ + (endpoint_.find('?') == std::string::npos ? "?" : "&") +
         "api-version=" + (arc_ ? "2020-06-01" : "2018-02-01") +
         "&resource=" + urlEncode(audience_);
}

std::optional<std::string> TokenFetcher::cached() {
  std::lock_guard<std::mutex> lk(mu_);
  if (token_ && std::chrono::steady_clock::now() < refreshAt_) {
    return token_;
  }
  return std::nullopt;
}

std::optional<std::string> TokenFetcher::takeFresh() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!fresh_) {
    return std::nullopt;
  }
  fresh_ = false;
  return token_;
}

void TokenFetcher::fetchAsync(std::function<void(bool, const std::string&)> done) {
  std::lock_guard<std::mutex> lk(mu_);
  if (running_ || stopped_) {
    return;
  }
  if (thread_.joinable()) {
    thread_.join();  // the previous fetch has finished (running_ is false)
  }
  running_ = true;
  thread_ = std::thread([this, done = std::move(done)] {
    std::string error;
    auto t = fetchNow(error);
    {
      std::lock_guard<std::mutex> l(mu_);
      running_ = false;
      if (stopped_) {
        return;
      }
    }
    done(t.has_value(), error);
  });
}

void TokenFetcher::stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
    t = std::move(thread_);
  }
  if (t.joinable()) {
    t.join();
  }
}

std::optional<std::string> TokenFetcher::fetchNow(std::string& error) {
  const std::string u = url();
  auto r = httpGet(u, "", error);
  if (r && r->status == 401 && arc_) {
    // Azure Arc challenge: "Basic realm=<path of a key file>"; read it and prove we may.
    const auto pos = r->wwwAuthenticate.find("realm=");
    if (pos == std::string::npos) {
      error = "401 without a Basic realm challenge";
      return std::nullopt;
    }
    std::string path = r->wwwAuthenticate.substr(pos + 6);
    while (!path.empty() && (path.back() == '\r' || path.back() == ' ' || path.back() == '"')) {
      path.pop_back();
    }
    if (!path.empty() && path.front() == '"') {
      path.erase(0, 1);
    }
    std::ifstream in(path);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && key.empty()) {
      error = "challenge key file unreadable: " + path;
      return std::nullopt;
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
      key.pop_back();
    }
    r = httpGet(u, "Authorization: Basic " + key + "\r\n", error);
  }
  if (!r) {
    return std::nullopt;
  }
  if (r->status != 200) {
    error = "token endpoint answered HTTP " + std::to_string(r->status);
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("access_token") ||
      !j["access_token"].is_string()) {
    error = "token response without access_token";
    return std::nullopt;
  }
  std::string token = j["access_token"].get<std::string>();
  long long expiresOn = 0;
  auto num = [&](const char* k) -> long long {
    if (!j.contains(k)) {
      return 0;
    }
    if (j[k].is_number()) {
      return j[k].get<long long>();
    }
    if (j[k].is_string()) {
      return std::atoll(j[k].get<std::string>().c_str());
    }
    return 0;
  };
  const long long now = static_cast<long long>(std::time(nullptr));
  expiresOn = num("expires_on");
  if (expiresOn == 0 && num("expires_in") > 0) {
    expiresOn = now + num("expires_in");
  }
  // Unknown expiry: assume five minutes. Known: never cache past it.
  long long life = expiresOn == 0 ? 300 : std::max(0LL, expiresOn - now);
  // Refresh a minute early, or at 90% of a short lifetime.
  long long valid = life > 600 ? life - 60 : life * 9 / 10;
  {
    std::lock_guard<std::mutex> lk(mu_);
    token_ = token;
    fresh_ = true;
    refreshAt_ = std::chrono::steady_clock::now() + std::chrono::seconds(valid);
  }
  log::info("managed_identity_token", {{"audience", audience_}, {"valid_seconds", valid}});
  return token;
}

}  // namespace mqb::sources

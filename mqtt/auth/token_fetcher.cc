#include "mqtt/auth/token_fetcher.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

#include "common/log.h"
#include "mqtt/auth/token_response.h"

namespace mqb::mqtt::auth {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

/// curl_global_init once per process, before the first easy handle (it is not thread-safe).
void initCurl() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

struct CurlFree {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

/// What the callbacks fill, with its bounds.
struct Transfer {
  std::string body;
  std::string wwwAuthenticate;
  bool tooLarge = false;
  const std::atomic<bool>* aborted = nullptr;
};

std::size_t onBody(char* p, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->body.size() + bytes > kMaxTokenResponseBytes) {
    t->tooLarge = true;
    return 0;  // ends the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(p, bytes);
  return bytes;
}

std::size_t onHeader(char* p, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  std::string_view line(p, bytes);
  constexpr std::string_view kName = "www-authenticate:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
      }
      t->wwwAuthenticate.assign(line.substr(0, 4096));
    }
  }
  return bytes;  // libcurl bounds a header line itself (CURL_MAX_HTTP_HEADER)
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  return t->aborted->load() ? 1 : 0;  // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
}

}  // namespace

TokenFetcher::TokenFetcher(TokenFetcherOptions options) : options_(std::move(options)) {
  initCurl();
  if (options_.endpoint.empty()) {
    if (const char* e = std::getenv("IDENTITY_ENDPOINT"); e != nullptr && *e != '\0') {
      options_.endpoint = e;
      arc_ = true;
    } else if (const char* i = std::getenv("IMDS_ENDPOINT"); i != nullptr && *i != '\0') {
      options_.endpoint = std::string(i) + "/metadata/identity/oauth2/token";
    } else {
      options_.endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";
    }
  } else {
    arc_ = true;
  }
}

std::string TokenFetcher::url() const {
  return options_.endpoint + (options_.endpoint.find('?') == std::string::npos ? "?" : "&") +
         "api-version=" + (arc_ ? "2020-06-01" : "2018-02-01") +
         "&resource=" + urlEncode(options_.audience);
}

std::optional<std::string> TokenFetcher::cached() {
  std::lock_guard<std::mutex> lk(mu_);
  if (token_ && Clock::now() < refreshAt_) {
    return token_;
  }
  return std::nullopt;
}

Clock::time_point TokenFetcher::refreshAt() {
  std::lock_guard<std::mutex> lk(mu_);
  return token_ ? refreshAt_ : Clock::time_point{};
}

bool TokenFetcher::get(const std::string& authorization, Clock::time_point deadline, Response& out,
                       std::string& error) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) {
    error = "no answer within " + std::to_string(options_.timeout.count()) + " ms";
    return false;
  }
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    error = "curl_easy_init failed";
    return false;
  }
  Transfer t;
  t.aborted = &aborted_;
  curl_slist* raw = curl_slist_append(nullptr, "Metadata: true");
  std::unique_ptr<curl_slist, SlistFree> headers(raw);
  if (!authorization.empty() && raw != nullptr) {
    raw = curl_slist_append(raw, ("Authorization: " + authorization).c_str());
    headers.release();
    headers.reset(raw);
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  const std::string u = url();
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, u.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // token endpoints are local: never via a proxy
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxTokenResponseBytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (t.tooLarge || rc == CURLE_FILESIZE_EXCEEDED) {
      error = "response body over " + std::to_string(kMaxTokenResponseBytes) + " bytes";
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
      error = "aborted";
    } else {
      error = std::string(curl_easy_strerror(rc)) + (errbuf[0] != '\0' ? ": " : "") + errbuf;
    }
    return false;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  out.body = std::move(t.body);
  out.wwwAuthenticate = std::move(t.wwwAuthenticate);
  return true;
}

std::optional<std::string> TokenFetcher::arcKey(const std::string& path, std::string& error) const {
  std::error_code ec;
  const fs::path given(path);
  const fs::path configured = fs::path(options_.arcKeyDirectory) / "";
  if (!given.is_absolute() || given.extension() != ".key" ||
      fs::path(given).remove_filename().lexically_normal() != configured.lexically_normal()) {
    error = "challenge names " + path + ": only a .key file in " + options_.arcKeyDirectory +
            " is accepted";
    return std::nullopt;
  }
  const fs::path dir = fs::canonical(options_.arcKeyDirectory, ec);
  const fs::path real = ec ? fs::path() : fs::canonical(given, ec);
  if (ec || real.parent_path() != dir) {
    error = "challenge key " + path + " does not resolve inside " + options_.arcKeyDirectory;
    return std::nullopt;
  }
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    error = "challenge key " + path + " unreadable";
    return std::nullopt;
  }
  struct stat st {};
  std::string key;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::size_t>(st.st_size) <= kMaxArcKeyBytes;
  if (ok) {
    key.resize(kMaxArcKeyBytes + 1);
    const ssize_t n = ::read(fd, key.data(), key.size());
    ok = n >= 0 && static_cast<std::size_t>(n) <= kMaxArcKeyBytes;
    key.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(fd);
  if (!ok) {
    error = "challenge key " + path + " is not a regular file of at most " +
            std::to_string(kMaxArcKeyBytes) + " bytes";
    return std::nullopt;
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
    key.pop_back();
  }
  return key;
}

std::optional<std::string> TokenFetcher::fetch(std::string& error) {
  if (aborted_.load()) {
    error = "aborted";
    return std::nullopt;
  }
  const auto deadline = Clock::now() + options_.timeout;
  Response r;
  if (!get("", deadline, r, error)) {
    return std::nullopt;
  }
  if (r.status == 401 && arc_) {
    const auto path = parseArcChallenge(r.wwwAuthenticate);
    if (!path) {
      error = "401 without a Basic realm challenge";
      return std::nullopt;
    }
    auto key = arcKey(*path, error);
    if (!key) {
      log::warn("managed_identity_challenge_refused", {{"detail", error}});
      return std::nullopt;
    }
    std::string authorization = "Basic " + *key;
    std::fill(key->begin(), key->end(), '\0');
    r = Response{};
    const bool ok = get(authorization, deadline, r, error);
    std::fill(authorization.begin(), authorization.end(), '\0');
    if (!ok) {
      return std::nullopt;
    }
  }
  if (r.status != 200) {
    error = "token endpoint answered HTTP " + std::to_string(r.status);
    return std::nullopt;
  }
  auto token = parseTokenResponse(r.body, static_cast<std::int64_t>(std::time(nullptr)), error);
  if (!token) {
    return std::nullopt;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    token_ = token->value;
    refreshAt_ = Clock::now() + std::chrono::seconds(token->validSeconds);
  }
  log::info("managed_identity_token",
            {{"audience", options_.audience}, {"valid_seconds", token->validSeconds}});
  return std::move(token->value);
}

}  // namespace mqb::mqtt::auth

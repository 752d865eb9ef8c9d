#pragma once
// systemAssignedManagedIdentity: fetches an access token for an audience from the Azure Arc /
// IMDS token endpoint with a tiny blocking HTTP/1.1 GET on its own thread (never on a Paho or
// timer thread), and caches it until shortly before it expires.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace mqb::sources {

/// Result of one HTTP GET (exposed for tests).
struct HttpResponse {
  int status = 0;
  std::string wwwAuthenticate;
  std::string body;
};

/// GET http://host:port/path with the given extra header lines ("Name: value\r\n" each). Plain
/// HTTP only, 5 s timeouts. Returns nullopt and sets `error` on transport errors.
std::optional<HttpResponse> httpGet(const std::string& url, const std::string& headers,
                                    std::string& error);

/// Thread-safe.
class TokenFetcher {
 public:
  /// `endpoint` empty = from the environment: IDENTITY_ENDPOINT (Azure Arc), else IMDS_ENDPOINT,
  /// else http://169.254.169.254 (IMDS; path /metadata/identity/oauth2/token).
  TokenFetcher(std::string endpoint, std::string audience);
  ~TokenFetcher();
  TokenFetcher(const TokenFetcher&) = delete;
  TokenFetcher& operator=(const TokenFetcher&) = delete;

  /// The cached token if it is valid for at least another minute (or 10% of its lifetime).
  std::optional<std::string> cached();
  /// The token of the last completed fetch, once (even if it is already short of its expiry), so
  /// a fetch is always followed by one attempt with its result and never by a refetch loop.
  std::optional<std::string> takeFresh();
  /// Starts one fetch in the background unless one is running; `done(ok, detail)` is called on
  /// the fetcher's thread when it finishes (detail never contains the token).
  void fetchAsync(std::function<void(bool, const std::string&)> done);
  /// Joins the fetch thread (the HTTP request finishes or times out first).
  void stop();

  /// One synchronous fetch (what the thread runs). Returns the token or nullopt with `error`.
  std::optional<std::string> fetchNow(std::string& error);

 private:
  std::string url() const;

  std::string endpoint_;
  std::string audience_;
  bool arc_ = false;
  std::mutex mu_;
  std::optional<std::string> token_;
  bool fresh_ = false;
  std::chrono::steady_clock::time_point refreshAt_{};
  std::thread thread_;
  bool running_ = false;
  bool stopped_ = false;
};

}  // namespace mqb::sources

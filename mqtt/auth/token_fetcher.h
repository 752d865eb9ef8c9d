#pragma once
// systemAssignedManagedIdentity: an access token for an audience from the Azure Arc or IMDS token
// endpoint (HTTP through libcurl), cached until shortly before it expires.
//
// The endpoint is trusted only as far as it must be: every answer is bounded (64 KiB of body, one
// overall deadline that covers name lookup and both requests of an Arc challenge), the Arc
// challenge may only name a `.key` file of at most 4 KiB directly inside the Arc agent's token
// directory (anything else is refused: its content is never sent), no proxy and no redirect is
// followed, and a fetch in progress ends soon after abort() (libcurl asks at least once a
// second).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace mqb::mqtt::auth {

struct TokenFetcherOptions {
  /// Empty = from the environment: IDENTITY_ENDPOINT (Azure Arc), else IMDS_ENDPOINT, else
  /// http://169.254.169.254 (IMDS; path /metadata/identity/oauth2/token).
  std::string endpoint;
  std::string audience;
  /// Where the Arc agent writes challenge keys (the Azure SDKs' rule on Linux).
  std::string arcKeyDirectory = "/var/opt/azcmagent/tokens";
  /// One deadline for the whole fetch.
  std::chrono::milliseconds timeout{10000};
};

/// Largest response body read from the endpoint.
inline constexpr std::size_t kMaxTokenResponseBytes = 64 * 1024;
/// Largest Arc challenge key file.
inline constexpr std::size_t kMaxArcKeyBytes = 4096;

/// Thread-safe.
class TokenFetcher {
 public:
  explicit TokenFetcher(TokenFetcherOptions options);
  TokenFetcher(const TokenFetcher&) = delete;
  TokenFetcher& operator=(const TokenFetcher&) = delete;

  /// The cached token if it is still good (see Token::validSeconds).
  std::optional<std::string> cached();
  /// One blocking fetch, bounded by options.timeout; caches and returns the token, or nullopt
  /// with `error` (never containing the token or a key). Returns at once after abort().
  std::optional<std::string> fetch(std::string& error);
  /// Makes a running fetch() (on another thread) give up at libcurl's next progress call (at
  /// least once a second), and every later one at once, until resume().
  void abort() noexcept { aborted_.store(true); }
  void resume() noexcept { aborted_.store(false); }

  /// When the cached token is due for renewal (the time point zero when none is cached).
  std::chrono::steady_clock::time_point refreshAt();

  /// The URL fetched (endpoint with api-version and resource).
  std::string url() const;

 private:
  struct Response {
    long status = 0;
    std::string wwwAuthenticate;
    std::string body;
  };
  /// One GET with the fetch's deadline; false with `error` on a transport failure.
  bool get(const std::string& authorization, std::chrono::steady_clock::time_point deadline,
           Response& out, std::string& error);
  /// Reads the key an Arc challenge names, if it is one the rules above allow.
  std::optional<std::string> arcKey(const std::string& path, std::string& error) const;

  TokenFetcherOptions options_;
  bool arc_ = false;
  std::atomic<bool> aborted_{false};
  std::mutex mu_;
  std::optional<std::string> token_;
  std::chrono::steady_clock::time_point refreshAt_{};
};

}  // namespace mqb::mqtt::auth

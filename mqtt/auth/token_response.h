#pragma once
// What a managed-identity token endpoint answers, read without trusting it (pure functions, no
// I/O): the JSON body of a token response and the Azure Arc challenge header.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqb::mqtt::auth {

/// Largest token accepted (Entra ID JWTs are a few KiB).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

struct Token {
  std::string value;
  /// How long to use it: a minute short of its expiry, or 90 % of a lifetime under ten minutes;
  /// five minutes when the response says nothing about expiry.
  std::int64_t validSeconds = 0;
};

/// The JSON body of a 200 answer: an object with a string `access_token` (1..kMaxTokenBytes
/// bytes, printable ASCII as a JWT is) and optionally `expires_on` (unix seconds) or
/// `expires_in` (seconds), each a number or a decimal string. Nullopt with `error` otherwise;
/// `error` never contains the token.
std::optional<Token> parseTokenResponse(std::string_view body, std::int64_t nowUnixSeconds,
                                        std::string& error);

/// The key file an Azure Arc 401 challenge names: `WWW-Authenticate: Basic realm=<path>` (the
/// value may be quoted). Nullopt if the header is not such a challenge.
std::optional<std::string> parseArcChallenge(std::string_view wwwAuthenticate);

}  // namespace mqb::mqtt::auth

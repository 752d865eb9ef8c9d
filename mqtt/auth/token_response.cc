#include "mqtt/auth/token_response.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace mqb::mqtt::auth {
namespace {

/// A non-negative number or decimal string; nullopt for anything else.
std::optional<std::int64_t> seconds(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) {
    return std::nullopt;
  }
  if (it->is_number_unsigned() || it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    return v >= 0 ? std::optional(v) : std::nullopt;
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && v >= 0) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Token> parseTokenResponse(std::string_view body, std::int64_t nowUnixSeconds,
                                        std::string& error) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error = "token response is not a JSON object";
    return std::nullopt;
  }
  const auto it = j.find("access_token");
  if (it == j.end() || !it->is_string()) {
    error = "token response without a string access_token";
    return std::nullopt;
  }
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty() || value.size() > kMaxTokenBytes) {
    error = "access_token of " + std::to_string(value.size()) + " bytes";
    return std::nullopt;
  }
  if (!std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    error = "access_token holds characters a token cannot";
    return std::nullopt;
  }
  std::int64_t life = 300;  // unknown expiry: five minutes
  if (const auto on = seconds(j, "expires_on")) {
    life = std::max<std::int64_t>(0, *on - nowUnixSeconds);
  } else if (const auto in = seconds(j, "expires_in")) {
    life = *in;
  }
  life = std::min<std::int64_t>(life, std::int64_t{1} << 40);
  Token t;
  t.value = value;
  t.validSeconds = life > 600 ? life - 60 : life * 9 / 10;
  return t;
}

std::optional<std::string> parseArcChallenge(std::string_view h) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
      s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  };
  h = trim(h);
  constexpr std::string_view kScheme = "basic ";
  if (h.size() <= kScheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  h = trim(h.substr(kScheme.size()));
  constexpr std::string_view kRealm = "realm=";
  if (h.substr(0, kRealm.size()) != kRealm) {
    return std::nullopt;
  }
  std::string_view path = trim(h.substr(kRealm.size()));
  if (path.size() >= 2 && path.front() == '"' && path.back() == '"') {
    path = path.substr(1, path.size() - 2);
  }
  if (path.empty() || path.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(path);
}

}  // namespace mqb::mqtt::auth

#pragma once
// Result<T>: a value, or the reason there is none. The return shape of operations whose failure
// the caller reports but does not branch on (opening a store, reaching the API server, loading a
// plugin); see docs/ARCHITECTURE.md, "Errors", for when to use it, a typed failure enum,
// config::Diagnostics or an exception. A stand-in for C++23 std::expected<T, Error>:
//
//   common::Result<Store> open(const std::string& dir) {
//     if (...) return common::Error{"cannot create " + dir + ": " + common::errnoText(errno)};
//     return Store{...};
//   }
//   auto s = open(dir);
//   if (!s) { log::error("store_open_failed", {{"detail", s.error()}}); return; }
//   use(*s);

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mqb::common {

/// Why an operation failed: one line, for a log field or a command's error message.
struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; only when ok().
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }

  /// The reason; only when !ok().
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Error> v_;
};

/// Success or the reason for failure, for operations with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : error_(std::move(e)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  /// The reason; only when !ok().
  const std::string& error() const { return error_->message; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace mqb::common

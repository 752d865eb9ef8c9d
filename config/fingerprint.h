#pragma once
// A route's fingerprint: a text of everything its behaviour depends on, derived from the field
// lists of config/model_fields.h (no field is named here). A reload rebuilds exactly the routes
// whose fingerprint changed, so a field that is missing from the fingerprint would keep a stale
// route running; the lists make that a compile error.

#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>

#include "config/model_fields.h"

namespace mqb::config {
namespace fingerprint_detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

/// Writes the Behaviour fields of a value, unambiguously: strings are length-prefixed, numbers
/// round-trip, optionals and vectors are marked, every field is named.
class Writer {
 public:
  template <class T>
  void value(const T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      out_.append(std::to_string(x.size())).append(":").append(x);
    } else if constexpr (std::is_same_v<T, bool>) {
      out_ += x ? 'T' : 'F';
    } else if constexpr (std::is_enum_v<T>) {
      number(static_cast<long long>(x));
    } else if constexpr (std::is_arithmetic_v<T>) {
      number(x);
    } else if constexpr (IsOptional<T>::value) {
      if (!x) {
        out_ += '-';
      } else {
        out_ += '=';
        value(*x);
      }
    } else if constexpr (IsVector<T>::value) {
      out_ += '[';
      for (const auto& e : x) {
        value(e);
        out_ += ',';
      }
      out_ += ']';
    } else if constexpr (std::is_same_v<T, YAML::Node>) {
      yaml(x);
    } else if constexpr (std::is_same_v<T, Location>) {
      // Positions are Provenance fields, never written; instantiated only.
    } else {
      static_assert(HasFields<T>, "a model struct without a field list (config/model_fields.h)");
      out_ += '{';
      visitFields(x, [this](FieldRole role, std::string_view name, const auto& member) {
        if (role == FieldRole::Behaviour) {
          out_.append(name).append("=");
          value(member);
          out_ += ';';
        }
      });
      out_ += '}';
    }
  }
  std::string take() { return std::move(out_); }

 private:
  template <class N>
  void number(N n) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
  }
  void yaml(const YAML::Node& n);

  std::string out_;
};

}  // namespace fingerprint_detail

/// The Behaviour fields of `x` (a model struct of config/model_fields.h), recursively, as text:
/// equal texts mean equal fields.
template <class T>
std::string behaviourText(const T& x) {
  fingerprint_detail::Writer w;
  w.value(x);
  return w.take();
}

/// Everything route `r` of connector `c` behaves by: the Behaviour fields of both and the route's
/// effective spool settings. Positions, YAML paths and connector-only fields are left out, so an
/// unchanged route keeps its fingerprint when other resources or the file around it change.
std::string routeFingerprint(const ConnectorSpec& c, const RouteSpec& r);

}  // namespace mqb::config

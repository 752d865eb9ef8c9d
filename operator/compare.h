#pragma once
// When a live object needs a write: the operator compares what it wants with what the API server
// holds, field by field, and writes only when a field it sets differs. Fields the server (or
// another controller) adds and the operator does not set never cause a write, so an idle
// operator and a restarted one make no write at all.

#include <nlohmann/json.hpp>

namespace mqb::op {

/// True if every field of `desired` is in `live` with the same value: objects recursively
/// (extra keys in `live` ignored), arrays of the same length element by element, scalars equal
/// (an integer and a float of the same value are equal).
bool covers(const nlohmann::json& live, const nlohmann::json& desired);

}  // namespace mqb::op

#pragma once
// File-system helpers for data only this process's user may read: spool segments, dead letters.

#include <string>
#include <string_view>
#include <system_error>

namespace mqb::common {

/// Mode of files holding messages or credentials-derived data.
inline constexpr unsigned kPrivateFileMode = 0600;

/// Creates `dir` and its missing parents, each created one 0700, and makes `dir` itself 0700
/// whoever created it (parents that existed are left alone: a shared state dir stays usable).
/// False with `ec` on failure.
bool makePrivateDirs(const std::string& dir, std::error_code& ec);

/// A name as one path component: '/', NUL and a leading '.' replaced by '_', empty as "_".
std::string pathComponent(std::string_view name);

/// Where a route keeps its durable state: <stateDir>/<connector>/<route> (spool branches,
/// dead letters), names as single path components.
std::string routeStateDir(std::string_view stateDir, std::string_view connector,
                          std::string_view route);

/// strerror without the thread-safety problem.
std::string errnoText(int e);

}  // namespace mqb::common

#include "common/files.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mqb::common {

namespace fs = std::filesystem;

bool makePrivateDirs(const std::string& dir, std::error_code& ec) {
  ec.clear();
  const fs::path target = fs::path(dir).lexically_normal();
  fs::path cur;
  for (const auto& part : target) {
    cur /= part;
    if (cur.empty() || cur == cur.root_path()) {
      continue;
    }
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) {
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
  }
  if (!fs::is_directory(target, ec)) {
    if (!ec) {
      ec = std::make_error_code(std::errc::not_a_directory);
    }
    return false;
  }
  fs::permissions(target, fs::perms::owner_all, fs::perm_options::replace, ec);
  return !ec;
}

std::string pathComponent(std::string_view name) {
  std::string c(name.empty() ? std::string_view("_") : name);
  for (char& ch : c) {
    if (ch == '/' || ch == '\0') {
      ch = '_';
    }
  }
  if (c[0] == '.') {
    c[0] = '_';
  }
  return c;
}

std::string routeStateDir(std::string_view stateDir, std::string_view connector,
                          std::string_view route) {
  return (fs::path(stateDir) / pathComponent(connector) / pathComponent(route)).string();
}

std::string errnoText(int e) {
  char buf[256];
  const char* s = strerror_r(e, buf, sizeof buf);
  return s != nullptr ? std::string(s) : "errno " + std::to_string(e);
}

}  // namespace mqb::common

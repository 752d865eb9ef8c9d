#pragma once
// Helpers shared by the spool unit tests: a temporary directory and message builders.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/message.h"

namespace mqb::spool::testing {

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mqb-spool-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline Message numbered(std::uint64_t n, std::size_t payloadBytes = 64) {
  Message m;
  m.topic = "bench/topic/" + std::to_string(n % 10);
  m.payload = std::to_string(n);
  m.payload.resize(payloadBytes, '.');
  m.qos = 1;
  m.seq = n;
  return m;
}

/// Files in `dir` with extension `ext` (".seg", ".ack"), sorted.
inline std::vector<std::string> filesWith(const std::filesystem::path& dir,
                                          const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ext) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mqb::spool::testing

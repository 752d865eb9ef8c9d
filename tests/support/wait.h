#pragma once
// Bounded waits for tests: poll a condition until it holds or a deadline passes (never a bare
// sleep where a condition belongs).

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace mqb::test {

/// Polls `pred` every `step` until it returns true (-> true) or `timeout` passed (-> false).
inline bool waitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                    std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
    std::this_thread::sleep_for(step);
  }
}

/// A fresh private directory under $TMPDIR (or /tmp), removed with its contents on destruction
/// unless MQB_KEEP_TEST_DIRS is set (for post-mortems).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "mqb-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  /// path()/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes `content` to path()/name (mode 0600) and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

/// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, read it back, close).
int freePort();

/// Reads a whole file ("" if missing).
std::string readFile(const std::string& path);

}  // namespace mqb::test

#pragma once
// Configuration diagnostics: every problem found in one run, printed compiler-style.
//
//   routes/plant-a.yaml:14:7: error: spec.routes[1].qos: must be 0 or 1, got 7

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace mqb::config {

/// A position in a configuration file. Line and column are 1-based; 0 means "unknown"
/// (for example a resource that came from the Kubernetes API rather than a file).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Location where;
  std::string path;     ///< YAML path of the field, e.g. "spec.routes[1].qos"
  std::string message;  ///< what is wrong and what is expected
};

/// Collects diagnostics. Not thread-safe; one per load/validation run.
class Diagnostics {
 public:
  void error(Location where, std::string path, std::string message);
  void warning(Location where, std::string path, std::string message);
  void add(Diagnostic d);
  void append(const Diagnostics& other);

  bool hasErrors() const noexcept { return errors_ > 0; }
  std::size_t errorCount() const noexcept { return errors_; }
  const std::vector<Diagnostic>& all() const noexcept { return items_; }

  /// Sorted by file, line, column; duplicates removed.
  std::vector<Diagnostic> sorted() const;
  /// One line per diagnostic, "file:line:col: error: path: message".
  void print(std::ostream& os) const;
  std::string str() const;

 private:
  std::vector<Diagnostic> items_;
  std::size_t errors_ = 0;
};

/// "file:line:col: error: path: message" (location parts omitted when unknown).
std::string format(const Diagnostic& d);

}  // namespace mqb::config

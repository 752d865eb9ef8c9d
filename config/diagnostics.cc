#include "config/diagnostics.h"

#include <algorithm>
#include <ostream>
#include <sstream>
#include <tuple>

namespace mqb::config {

void Diagnostics::error(Location where, std::string path, std::string message) {
  add({Severity::Error, std::move(where), std::move(path), std::move(message)});
}

void Diagnostics::warning(Location where, std::string path, std::string message) {
  add({Severity::Warning, std::move(where), std::move(path), std::move(message)});
}

void Diagnostics::add(Diagnostic d) {
  if (d.severity == Severity::Error) {
    ++errors_;
  }
  items_.push_back(std::move(d));
}

void Diagnostics::append(const Diagnostics& other) {
  for (const auto& d : other.items_) {
    add(d);
  }
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  auto key = [](const Diagnostic& d) {
    return std::tie(d.where.file, d.where.line, d.where.column, d.path, d.message, d.severity);
  };
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  out.erase(std::unique(out.begin(), out.end(),
                        [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); }),
            out.end());
  return out;
}

std::string format(const Diagnostic& d) {
  std::ostringstream os;
  if (!d.where.file.empty()) {
    os << d.where.file << ':';
    if (d.where.line > 0) {
      os << d.where.line << ':';
      if (d.where.column > 0) {
        os << d.where.column << ':';
      }
    }
    os << ' ';
  }
  os << (d.severity == Severity::Error ? "error: " : "warning: ");
  if (!d.path.empty()) {
    os << d.path << ": ";
  }
  os << d.message;
  return os.str();
}

void Diagnostics::print(std::ostream& os) const {
  for (const auto& d : sorted()) {
    os << format(d) << '\n';
  }
}

std::string Diagnostics::str() const {
  std::ostringstream os;
  print(os);
  return os.str();
}

}  // namespace mqb::config

#include "stages/common/topic_match.h"

namespace mqb::stages::common {

std::string topicFilterError(std::string_view filter) {
  if (filter.empty()) {
    return "a topic filter must not be empty";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t end = filter.find('/', start);
    const std::string_view level =
        filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1) {
      return "a wildcard (+ or #) must occupy a whole topic level";
    }
    if (level == "#" && end != std::string_view::npos) {
      return "# must be the last topic level";
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return {};
}

bool topicMatches(std::string_view filter, std::string_view topic) noexcept {
  if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  std::size_t f = 0;
  std::size_t t = 0;
  while (true) {
    const std::size_t fe = filter.find('/', f);
    const std::string_view fl =
        filter.substr(f, fe == std::string_view::npos ? std::string_view::npos : fe - f);
    if (fl == "#") {
      return true;  // matches the parent level too ("a/#" matches "a")
    }
    if (t > topic.size()) {
      return false;  // topic exhausted, filter has more levels
    }
    const std::size_t te = topic.find('/', t);
    const std::string_view tl =
        topic.substr(t, te == std::string_view::npos ? std::string_view::npos : te - t);
    if (fl != "+" && fl != tl) {
      return false;
    }
    const bool fLast = fe == std::string_view::npos;
    const bool tLast = te == std::string_view::npos;
    if (fLast || tLast) {
      if (fLast && tLast) {
        return true;
      }
      if (tLast && !fLast) {
        // "a/#" must match "a": the rest of the filter may only be "#".
        return filter.substr(fe + 1) == "#";
      }
      return false;
    }
    f = fe + 1;
    t = te + 1;
  }
}

}  // namespace mqb::stages::common

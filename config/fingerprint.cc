#include "config/fingerprint.h"

namespace mqb::config {
namespace fingerprint_detail {

void Writer::yaml(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  value(std::string(e.c_str(), e.size()));
}

}  // namespace fingerprint_detail

std::string routeFingerprint(const ConnectorSpec& c, const RouteSpec& r) {
  fingerprint_detail::Writer w;
  w.value(c);
  w.value(r);
  w.value(effectiveSpool(c, r));
  return w.take();
}

}  // namespace mqb::config

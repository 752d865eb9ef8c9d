#pragma once
// Helpers for configuration tests: minimal valid resources as YAML nodes, a path-based setter
// ("spec.routes[0].qos"), and diagnostics queries.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace mqb::config::testing {

inline const char* kBaseConnector = R"(apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: bridge
spec:
  image:
    repository: mqbridge
  protocol: v5
  remoteBrokerConnection:
    endpoint: 127.0.0.1:1884
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {}
  localBrokerConnection:
    endpoint: 127.0.0.1:1883
    tls:
      tlsEnabled: false
    authentication:
      anonymous: {}
)";

inline const char* kBaseTopicMap = R"(apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: map
spec:
  mqttBridgeConnectorRef: bridge
  routes:
    - name: r1
      direction: local-to-remote
      source: a/#
)";

inline YAML::Node baseConnector() { return YAML::Load(kBaseConnector); }
inline YAML::Node baseTopicMap() { return YAML::Load(kBaseTopicMap); }

/// Splits "spec.routes[0].qos" into {"spec", "routes", "[0]", "qos"}.
inline std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[') {
      if (!cur.empty()) {
        out.push_back(cur);
      }
      cur.clear();
      if (c == '[') {
        cur.push_back('[');
      }
    } else if (c == ']') {
      cur += ']';
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) {
    out.push_back(cur);
  }
  return out;
}

/// Sets the node at `path` (creating mappings on the way) to `value`.
inline void setPath(YAML::Node root, const std::string& path, const YAML::Node& value) {
  const auto segs = splitPath(path);
  YAML::Node cur;
  cur.reset(root);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    YAML::Node next;
    if (segs[i].front() == '[') {
      next.reset(cur[std::stoul(segs[i].substr(1))]);
    } else {
      next.reset(cur[segs[i]]);
    }
    cur.reset(next);
  }
  const std::string& last = segs.back();
  if (last.front() == '[') {
    cur[std::stoul(last.substr(1))] = value;
  } else {
    cur[last] = value;
  }
}

inline void setPath(YAML::Node root, const std::string& path, const std::string& yaml) {
  setPath(root, path, YAML::Load(yaml));
}

/// Removes the key at the end of `path`.
inline void erasePath(YAML::Node root, const std::string& path) {
  const auto segs = splitPath(path);
  YAML::Node cur;
  cur.reset(root);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    YAML::Node next;
    if (segs[i].front() == '[') {
      next.reset(cur[std::stoul(segs[i].substr(1))]);
    } else {
      next.reset(cur[segs[i]]);
    }
    cur.reset(next);
  }
  cur.remove(segs.back());
}

inline std::string emit(const std::vector<YAML::Node>& docs) {
  std::string out;
  for (const auto& d : docs) {
    YAML::Emitter e;
    e << d;
    out += "---\n";
    out += e.c_str();
    out += "\n";
  }
  return out;
}

inline LoadResult loadDocs(const std::vector<YAML::Node>& docs, LoadOptions o = {}) {
  return loadText(emit(docs), "test.yaml", o);
}

/// Loads a connector and a topic map (the base ones unless given).
inline LoadResult loadPair(const YAML::Node& connector, const YAML::Node& map, LoadOptions o = {}) {
  return loadDocs({connector, map}, std::move(o));
}

inline bool hasDiag(const LoadResult& r, Severity sev, const std::string& path,
                    const std::string& text = "") {
  for (const auto& d : r.diagnostics.all()) {
    if (d.severity == sev && d.path == path && d.message.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

inline bool hasError(const LoadResult& r, const std::string& path, const std::string& text = "") {
  return hasDiag(r, Severity::Error, path, text);
}

inline bool hasWarning(const LoadResult& r, const std::string& path, const std::string& text = "") {
  return hasDiag(r, Severity::Warning, path, text);
}

inline std::size_t warningCount(const LoadResult& r) {
  std::size_t n = 0;
  for (const auto& d : r.diagnostics.all()) {
    n += d.severity == Severity::Warning ? 1 : 0;
  }
  return n;
}

}  // namespace mqb::config::testing

// The loader's entry points: files and directories, YAML streams split into documents, each
// document checked for duplicate keys and dispatched by kind (connector.cc, topic_map.cc), then
// the checks across resources (cross_check.cc).

#include "config/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "config/fields.h"
#include "config/loader_parts.h"

namespace fs = std::filesystem;

namespace mqb::config {

namespace {

constexpr int kMaxDepth = 200;

const std::vector<std::string> kKinds = {kConnectorKind, kTopicMapKind};

// Walks a document for duplicate mapping keys, which yaml-cpp accepts silently (first wins).
// Aliased collections are visited once (their marks are equal), so "billion laughs" stays cheap.
void checkDuplicateKeys(const YAML::Node& n, const std::string& file, const std::string& path,
                        int depth, std::set<std::size_t>& seen, Diagnostics& diag) {
  if (!n.IsMap() && !n.IsSequence()) {
    return;
  }
  if (depth > kMaxDepth) {
    diag.error(locationOf(n, file), path,
               "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return;
  }
  if (!n.Mark().is_null() && !seen.insert(static_cast<std::size_t>(n.Mark().pos)).second) {
    return;
  }
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      checkDuplicateKeys(n[i], file, path + "[" + std::to_string(i) + "]", depth + 1, seen, diag);
    }
    return;
  }
  std::map<std::string, Location> keys;
  for (const auto& kv : n) {
    std::string child = path;
    if (kv.first.IsScalar()) {
      const std::string& k = kv.first.Scalar();
      child = path.empty() ? k : path + "." + k;
      const Location loc = locationOf(kv.first, file);
      auto [it, inserted] = keys.emplace(k, loc);
      if (!inserted) {
        diag.error(loc, child,
                   "duplicate key (first at line " + std::to_string(it->second.line) +
                       "; YAML would silently keep only the first)");
      }
    }
    checkDuplicateKeys(kv.second, file, child, depth + 1, seen, diag);
  }
}

bool startsWithMarker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) {
    return false;
  }
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// Splits a YAML stream at document markers ("---" starts a document, "..." ends one; both only
// at column 0, where YAML always treats them as markers). Each chunk is prefixed with as many
// newlines as lines before it, so that yaml-cpp's marks stay absolute. A chunk holding only
// directives or comments is kept with the next one.
//
// Why not YAML::LoadAll: yaml-cpp's LoadAll can loop forever on some streams (a lone "," after a
// document, e.g. "!!str ,"), while YAML::Load parses exactly one document and returns.
std::vector<std::string> splitDocuments(const std::string& text) {
  std::vector<std::pair<std::size_t, std::string>> chunks;  // (first line index, text)
  std::string cur;
  std::size_t curStart = 0;
  std::size_t lineNo = 0;
  bool curHasContent = false;
  std::size_t pos = 0;
  auto flush = [&](std::size_t nextStart) {
    if (curHasContent) {
      chunks.emplace_back(curStart, std::move(cur));
      cur.clear();
      curStart = nextStart;
    } else if (cur.empty()) {
      curStart = nextStart;
    }
    curHasContent = false;
  };
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    const bool last = nl == std::string::npos;
    if (last) {
      nl = text.size();
    }
    const std::string_view line(text.data() + pos, nl - pos);
    if (startsWithMarker(line, "---")) {
      flush(lineNo);
    }
    cur.append(line);
    if (!last) {
      cur.push_back('\n');
    }
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#' && line[first] != '%') {
      curHasContent = true;
    }
    ++lineNo;
    if (startsWithMarker(line, "...")) {
      flush(lineNo);
    }
    if (last) {
      break;
    }
    pos = nl + 1;
  }
  if (curHasContent) {
    chunks.emplace_back(curStart, std::move(cur));
  }
  std::vector<std::string> out;
  out.reserve(chunks.size());
  for (auto& [start, body] : chunks) {
    out.push_back(std::string(start, '\n') + body);
  }
  return out;
}

/// A resource's name and namespace (metadata), read from the top-level mapping `top`.
struct Metadata {
  std::string name;
  std::string ns;
  Location where;  ///< of the name, else of the resource
};

Metadata readMetadata(Fields& top) {
  Metadata md;
  md.where = top.location();
  YAML::Node n = top.mapping("metadata", true);
  if (!n.IsDefined()) {
    return md;
  }
  Fields m(n, top.file(), "metadata", top.diag());
  if (auto name = m.str("name", true)) {
    md.name = *name;
    md.where = m.at("name");
    if (auto e = detail::objectNameError(md.name); !e.empty()) {
      m.error("name", e);
    }
  }
  md.ns = m.str("namespace").value_or("");
  m.allow({"labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
           "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "finalizers",
           "ownerReferences", "generateName", "selfLink"});
  m.finish();
  return md;
}

/// True if `kind` is one this loader reads; otherwise reports it.
bool knownKind(Fields& top, const std::string& kind) {
  if (std::find(kKinds.begin(), kKinds.end(), kind) != kKinds.end()) {
    return true;
  }
  std::string msg = "unsupported kind \"" + kind + "\"; expected " + std::string(kConnectorKind) +
                    " or " + kTopicMapKind;
  if (auto near = nearest(kind, kKinds); !near.empty()) {
    msg += " (did you mean \"" + near + "\"?)";
  }
  top.error("kind", msg);
  return false;
}

}  // namespace

Loader::Loader(LoadOptions o) : opts_(std::move(o)) {}

void Loader::addPath(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    diag_.error(Location{path, 0, 0}, "", "no such file or directory");
    return;
  }
  if (fs::is_directory(st)) {
    std::vector<std::string> files;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      std::error_code ec2;
      if ((ext == ".yaml" || ext == ".yml") && fs::is_regular_file(it->path(), ec2)) {
        files.push_back(it->path().string());
      }
    }
    if (ec) {
      diag_.error(Location{path, 0, 0}, "", "cannot list directory: " + ec.message());
      return;
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      diag_.error(Location{path, 0, 0}, "", "directory holds no *.yaml or *.yml file");
    }
    for (const auto& f : files) {
      addFile(f);
    }
    return;
  }
  addFile(path);
}

void Loader::addFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag_.error(Location{path, 0, 0}, "", "cannot read file");
    return;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  addText(ss.str(), path);
}

void Loader::addText(const std::string& text, const std::string& file) {
  sawInput_ = true;
  for (const std::string& chunk : splitDocuments(text)) {
    YAML::Node doc;
    try {
      doc = YAML::Load(chunk);
    } catch (const YAML::Exception& e) {
      Location loc{file, 0, 0};
      if (!e.mark.is_null()) {
        loc.line = e.mark.line + 1;
        loc.column = e.mark.column + 1;
      }
      diag_.error(loc, "", "invalid YAML: " + e.msg);
      continue;
    } catch (const std::exception& e) {
      diag_.error(Location{file, 0, 0}, "", std::string("invalid YAML: ") + e.what());
      continue;
    }
    addResource(doc, file);
  }
}

void Loader::addResource(const YAML::Node& doc, const std::string& file) {
  sawInput_ = true;
  if (!doc.IsDefined() || doc.IsNull()) {
    return;  // empty document, e.g. a trailing `---`
  }
  try {
    std::set<std::size_t> seen;
    checkDuplicateKeys(doc, file, "", 0, seen, diag_);
    Fields top(doc, file, "", diag_);
    if (!top.ok()) {
      return;
    }
    const auto apiVersion = top.str("apiVersion", true);
    const auto kind = top.str("kind", true);
    if (!kind) {
      top.allow({"metadata", "spec", "status"});
      top.finish();
      return;
    }
    if (!knownKind(top, *kind)) {
      return;
    }
    if (apiVersion && *apiVersion != kApiVersion) {
      top.error("apiVersion", "unsupported apiVersion \"" + *apiVersion + "\" for " + *kind +
                                  "; expected " + kApiVersion);
    }
    const Metadata md = readMetadata(top);
    top.allow({"status"});
    YAML::Node spec = top.mapping("spec", true);
    top.finish();
    if (!spec.IsDefined()) {
      return;
    }
    if (*kind == kConnectorKind) {
      ConnectorSpec c;
      c.name = md.name;
      c.ns = md.ns;
      c.where = md.where;
      detail::readConnector(spec, file, diag_, c);
      config_.connectors.push_back(std::move(c));
    } else {
      TopicMapSpec t;
      t.name = md.name;
      t.ns = md.ns;
      t.where = md.where;
      detail::readTopicMap(spec, file, diag_, t);
      config_.topicMaps.push_back(std::move(t));
    }
  } catch (const std::exception& e) {
    diag_.error(locationOf(doc, file), "", std::string("cannot read resource: ") + e.what());
  }
}

LoadResult Loader::finish() {
  LoadResult r;
  try {
    if (config_.connectors.empty() && config_.topicMaps.empty() && !diag_.hasErrors()) {
      diag_.error(Location{}, "",
                  sawInput_ ? "no MqttBridgeConnector or MqttBridgeTopicMap resource found"
                            : "no configuration given");
    }
    // Once every resource is in: per-site values, then the checks across resources.
    detail::expandEnvReferences(
        config_, opts_.environment ? opts_.environment : processEnvironment(), diag_);
    detail::crossCheck(opts_, config_, diag_);
  } catch (const std::exception& e) {
    diag_.error(Location{}, "", std::string("internal error while validating: ") + e.what());
  }
  r.diagnostics = diag_;
  if (!diag_.hasErrors()) {
    r.config = std::move(config_);
  }
  return r;
}

LoadResult load(const LoadOptions& o) {
  Loader l(o);
  for (const auto& p : o.paths) {
    l.addPath(p);
  }
  return l.finish();
}

LoadResult loadText(const std::string& text, const std::string& file, const LoadOptions& o) {
  Loader l(o);
  l.addText(text, file);
  return l.finish();
}

}  // namespace mqb::config

#include "config/loader.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "config/enums.h"
#include "config/fields.h"
#include "config/rate_limit.h"
#include "config/spool.h"
#include "config/topic.h"

namespace fs = std::filesystem;

namespace mqb::config {

namespace {

constexpr int kMaxDepth = 200;
constexpr std::int64_t kMaxInstances = 1000;
constexpr std::int64_t kMaxShareNumber = 1000;
constexpr std::size_t kMqtt311MaxClientId = 23;

const std::vector<std::string> kKinds = {kConnectorKind, kTopicMapKind};
const std::vector<std::string> kAuthMethods = {"systemAssignedManagedIdentity", "x509",
                                               "kubernetes", "anonymous", "usernamePassword"};

std::string where(const Location& l) {
  std::ostringstream os;
  os << l.file;
  if (l.line > 0) {
    os << ':' << l.line;
  }
  return os.str();
}

std::string joinPath(const std::string& dir, const std::string& name, const std::string& file) {
  return (fs::path(dir) / name / file).string();
}

/// Kubernetes object names end up in file paths: refuse anything that could escape the dir.
std::string objectNameError(const std::string& name) {
  if (name.empty()) {
    return "must not be empty";
  }
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return "must be a Kubernetes object name (no '/', not '.' or '..'), got \"" + name + "\"";
  }
  return {};
}

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

int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

std::string opensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return {};
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(" (") + buf + ")";
}

bool isFile(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// "" if `file` holds at least one PEM certificate.
std::string checkCertificates(const std::string& file) {
  if (!isFile(file)) {
    return "file " + file + " does not exist";
  }
  BIO* bio = BIO_new_file(file.c_str(), "r");
  if (bio == nullptr) {
    return "cannot open " + file + opensslError();
  }
  int count = 0;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, noPassphrase, nullptr)) {
    ++count;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  return count > 0 ? std::string() : file + " holds no PEM certificate";
}

/// "" if cert and key files parse and belong together.
std::string checkCertAndKey(const std::string& certFile, const std::string& keyFile) {
  if (auto e = checkCertificates(certFile); !e.empty()) {
    return e;
  }
  if (!isFile(keyFile)) {
    return "file " + keyFile + " does not exist";
  }
  BIO* kb = BIO_new_file(keyFile.c_str(), "r");
  if (kb == nullptr) {
    return "cannot open " + keyFile + opensslError();
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, noPassphrase, nullptr);
  BIO_free(kb);
  if (key == nullptr) {
    return keyFile + " holds no unencrypted PEM private key" + opensslError();
  }
  std::string result;
  BIO* cb = BIO_new_file(certFile.c_str(), "r");
  X509* cert = cb != nullptr ? PEM_read_bio_X509(cb, nullptr, noPassphrase, nullptr) : nullptr;
  if (cert != nullptr && X509_check_private_key(cert, key) != 1) {
    result = keyFile + " does not match the certificate in " + certFile;
  }
  ERR_clear_error();
  X509_free(cert);
  BIO_free(cb);
  EVP_PKEY_free(key);
  return result;
}

std::vector<std::string> pemFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = p.extension().string();
    std::error_code ec2;
    // Mounted ConfigMaps are symlinks into ..data/: follow them, skip the dot entries.
    if ((ext == ".pem" || ext == ".crt") && p.filename().string().front() != '.' &&
        fs::is_regular_file(p, ec2)) {
      out.push_back(p.string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Parser {
 public:
  Parser(Diagnostics& diag, std::string file) : diag_(diag), file_(std::move(file)) {}

  void secretName(Fields& f, std::string& out) {
    if (auto s = f.str("secretName", true)) {
      if (auto e = objectNameError(*s); !e.empty()) {
        f.error("secretName", e);
      } else {
        out = *s;
      }
    }
  }

  void auth(Fields& parent, AuthSpec& a) {
    YAML::Node n = parent.mapping("authentication", true);
    if (!n.IsDefined()) {
      return;
    }
    Fields f(n, file_, parent.pathOf("authentication"), diag_);
    a.where = f.location();
    std::vector<std::string> present;
    for (const auto& m : kAuthMethods) {
      if (f.has(m)) {
        present.push_back(m);
      }
    }
    if (YAML::Node mi = f.mapping("systemAssignedManagedIdentity"); mi.IsDefined()) {
      Fields g(mi, file_, f.pathOf("systemAssignedManagedIdentity"), diag_);
      a.kind = AuthSpec::Kind::SystemAssignedManagedIdentity;
      a.audience = g.str("audience", true).value_or("");
      g.finish();
    }
    if (YAML::Node x = f.mapping("x509"); x.IsDefined()) {
      Fields g(x, file_, f.pathOf("x509"), diag_);
      a.kind = AuthSpec::Kind::X509;
      secretName(g, a.secretName);
      a.where = g.at("secretName");
      g.finish();
    }
    if (YAML::Node k = f.mapping("kubernetes"); k.IsDefined()) {
      Fields g(k, file_, f.pathOf("kubernetes"), diag_);
      a.kind = AuthSpec::Kind::Kubernetes;
      a.where = f.at("kubernetes");
      g.finish();
    }
    if (YAML::Node an = f.mapping("anonymous"); an.IsDefined()) {
      Fields g(an, file_, f.pathOf("anonymous"), diag_);
      a.kind = AuthSpec::Kind::Anonymous;
      g.finish();
    }
    if (YAML::Node up = f.mapping("usernamePassword"); up.IsDefined()) {
      Fields g(up, file_, f.pathOf("usernamePassword"), diag_);
      a.kind = AuthSpec::Kind::UsernamePassword;
      secretName(g, a.secretName);
      a.where = g.at("secretName");
      g.finish();
    }
    f.finish();
    if (f.ok() && present.empty()) {
      f.error("",
              "needs one method: systemAssignedManagedIdentity, x509 or kubernetes (extensions: "
              "anonymous, usernamePassword)");
    } else if (present.size() > 1) {
      f.error("", "only one authentication method is allowed, got " + present[0] + " and " +
                      present[1]);
    }
  }

  void broker(Fields& spec, const std::string& key, bool required, BrokerConnection& b) {
    YAML::Node n = spec.mapping(key, required);
    if (!n.IsDefined()) {
      return;
    }
    Fields f(n, file_, spec.pathOf(key), diag_);
    b.where = f.location();
    b.path = f.path();
    if (auto ep = f.str("endpoint", true)) {
      b.endpoint = *ep;
      if (auto e = parseEndpoint(*ep, b.host, b.port); !e.empty()) {
        f.error("endpoint", e);
      }
    }
    b.transport = readEnum<Transport>(f, "protocol").value_or(b.transport);
    if (YAML::Node t = f.mapping("tls", true); t.IsDefined()) {
      Fields g(t, file_, f.pathOf("tls"), diag_);
      b.tls.where = g.location();
      b.tls.enabled = g.boolean("tlsEnabled", true).value_or(false);
      if (auto cm = g.str("trustedCaCertificateConfigMap")) {
        if (auto e = objectNameError(*cm); !e.empty()) {
          g.error("trustedCaCertificateConfigMap", e);
        } else {
          b.tls.trustedCaCertificateConfigMap = *cm;
          b.tls.where = g.at("trustedCaCertificateConfigMap");
          if (!b.tls.enabled) {
            g.warning("trustedCaCertificateConfigMap", "ignored because tlsEnabled is false");
          }
        }
      }
      g.finish();
    }
    if (auto m = f.integer("maxPacketSize", false, 64, 268435460)) {
      b.maxPacketSize = static_cast<std::uint32_t>(*m);
    }
    auth(f, b.auth);
    f.finish();
  }

  void connector(const YAML::Node& spec, ConnectorSpec& c) {
    Fields s(spec, file_, "spec", diag_);
    if (YAML::Node img = s.mapping("image", true); img.IsDefined()) {
      Fields g(img, file_, "spec.image", diag_);
      c.image.repository = g.str("repository", true).value_or("");
      c.image.tag = g.str("tag").value_or("");
      c.image.pullPolicy = g.enumeration("pullPolicy", pullPolicies()).value_or("");
      g.finish();
    }
    c.protocol = readEnum<MqttVersion>(s, "protocol", true).value_or(c.protocol);
    if (auto n = s.integer("bridgeInstances", false, 1, kMaxInstances)) {
      c.bridgeInstances = static_cast<int>(*n);
    }
    if (auto p = s.str("clientIdPrefix")) {
      if (auto e = topic::encodingError(*p); !e.empty()) {
        s.error("clientIdPrefix", e);
      }
      c.clientIdPrefix = *p;
    }
    c.logLevel = readEnum<LogLevel>(s, "logLevel").value_or(c.logLevel);
    broker(s, "remoteBrokerConnection", true, c.remote);
    if (s.has("localBrokerConnection")) {
      broker(s, "localBrokerConnection", false, c.local);
    } else {
      s.node("localBrokerConnection");
      c.local = defaultLocalBroker();
      c.local.where = s.location();
      c.localDefaulted = true;
    }
    c.rateLimit = readRateLimit(s, "rateLimit");
    c.spool = readSpool(s, "spool");
    // Default: mqbridge/<connector>/status; an explicit "" turns the status message off.
    c.statusTopic = "mqbridge/" + c.name + "/status";
    if (auto t = s.str("statusTopic")) {
      if (t->empty()) {
        c.statusTopic.clear();
      } else if (auto e = topic::nameError(*t); !e.empty()) {
        s.error("statusTopic", e);
      }
      if (!t->empty()) {
        c.statusTopic = *t;
      }
    }
    if (auto t = s.str("deadLetterTopic"); t && !t->empty()) {
      if (auto e = topic::nameError(*t); !e.empty()) {
        s.error("deadLetterTopic", e);
      } else {
        c.deadLetterTopic = *t;
      }
    }
    if (auto h = s.str("hopMarker")) {
      if (h->empty()) {
        s.error("hopMarker", "must not be empty");
      } else if (auto e = topic::encodingError(*h); !e.empty()) {
        s.error("hopMarker", e);
      }
      c.hopMarker = *h;
    }
    if (auto k = s.integer("keepAliveSeconds", false, 1, 65535)) {
      c.keepAliveSeconds = static_cast<int>(*k);
    }
    if (auto k = s.integer("sessionExpirySeconds", false, 0, 4294967295LL)) {
      c.sessionExpirySeconds = static_cast<int>(std::min<std::int64_t>(*k, INT32_MAX));
    }
    if (YAML::Node sp = s.sequence("stagePlugins"); sp.IsDefined()) {
      for (std::size_t j = 0; j < sp.size(); ++j) {
        StagePluginSpec plugin;
        plugin.path = s.pathOf("stagePlugins") + "[" + std::to_string(j) + "]";
        plugin.where = locationOf(sp[j], file_);
        if (!sp[j].IsScalar() || sp[j].Scalar().empty()) {
          diag_.error(plugin.where, plugin.path,
                      "expected the path of a stage plugin shared library (a non-empty string)");
          continue;
        }
        plugin.file = sp[j].Scalar();
        c.stagePlugins.push_back(std::move(plugin));
      }
    }
    s.finish();
  }

  void route(const YAML::Node& n, std::size_t index, TopicMapSpec& t) {
    RouteSpec r;
    r.path = "spec.routes[" + std::to_string(index) + "]";
    Fields f(n, file_, r.path, diag_);
    r.where = f.location();
    if (!f.ok()) {
      return;
    }
    if (auto name = f.str("name")) {
      if (auto e = routeNameError(*name); !e.empty()) {
        f.error("name", e);
      }
      r.name = *name;
    } else if (!f.has("name")) {
      r.name = "route" + std::to_string(index + 1);
      r.nameDefaulted = true;
      f.warning("name", "route has no name; using \"" + r.name +
                            "\" (its position in the topic map). Name it: the client IDs "
                            "are built from it");
    }
    r.direction = readEnum<Direction>(f, "direction", true).value_or(r.direction);
    if (auto q = f.integer("qos", false, 0, 1)) {
      r.qos = static_cast<int>(*q);
    }
    if (auto s = f.str("source", true)) {
      r.source = *s;
      if (s->rfind("$share/", 0) == 0) {
        f.error("source",
                "must be a plain topic filter; use sharedSubscription for \"$share/...\"");
      } else if (auto e = topic::filterError(*s); !e.empty()) {
        f.error("source", "not a valid MQTT topic filter: " + e);
      }
    }
    if (auto tg = f.str("target")) {
      r.target = *tg;
      if (auto e = topic::targetError(*tg); !e.empty()) {
        f.error("target", "not a valid MQTT topic name: " + e);
      }
    }
    if (YAML::Node ss = f.mapping("sharedSubscription"); ss.IsDefined()) {
      Fields g(ss, file_, f.pathOf("sharedSubscription"), diag_);
      SharedSubscriptionSpec sub;
      sub.groupMinimumShareNumber = static_cast<int>(
          g.integer("groupMinimumShareNumber", true, 1, kMaxShareNumber).value_or(1));
      if (auto gn = g.str("groupName", true)) {
        if (auto e = topic::groupNameError(*gn); !e.empty()) {
          g.error("groupName", e);
        }
        sub.groupName = *gn;
      }
      g.finish();
      r.sharedSubscription = sub;
    }
    r.rateLimit = readRateLimit(f, "rateLimit");
    r.retain = readEnum<RetainPolicy>(f, "retain").value_or(r.retain);
    r.ttlSeconds = f.number("ttlSeconds", false, 0);
    r.spool = readSpool(f, "spool");
    if (YAML::Node st = f.sequence("stages"); st.IsDefined()) {
      for (std::size_t j = 0; j < st.size(); ++j) {
        StageSpec stage;
        stage.path = f.pathOf("stages") + "[" + std::to_string(j) + "]";
        Fields g(st[j], file_, stage.path, diag_);
        stage.where = g.location();
        if (!g.ok()) {
          continue;
        }
        // Only `type` is read here; the stage registry validates the other parameters.
        stage.type = g.str("type", true).value_or("");
        stage.params = st[j];
        r.stages.push_back(std::move(stage));
      }
    }
    f.finish();
    r.topicMap = t.name;
    r.connector = t.connectorRef;
    t.routes.push_back(std::move(r));
  }

  void topicMap(const YAML::Node& spec, TopicMapSpec& t) {
    Fields s(spec, file_, "spec", diag_);
    t.connectorRef = s.str("mqttBridgeConnectorRef", true).value_or("");
    t.refWhere = s.at("mqttBridgeConnectorRef");
    if (YAML::Node routes = s.sequence("routes", true); routes.IsDefined()) {
      if (routes.size() == 0) {
        s.error("routes", "needs at least one route");
      }
      for (std::size_t i = 0; i < routes.size(); ++i) {
        route(routes[i], i, t);
      }
    }
    s.finish();
  }

 private:
  Diagnostics& diag_;
  std::string file_;
};

void checkExists(Diagnostics& diag, const Location& at, const std::string& path,
                 const std::string& file, const std::string& what, const std::string& hint) {
  if (!isFile(file)) {
    diag.error(at, path, what + " file " + file + " does not exist (see " + hint + ")");
  }
}

}  // namespace

std::string routeNameError(const std::string& name) {
  if (name.empty()) {
    return "must not be empty";
  }
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) != 0 && c < 0x80) && c != '-' && c != '_') {
      return "must contain only letters, digits, '-' and '_' (it becomes part of a client ID), "
             "got \"" +
             name + "\"";
    }
  }
  return {};
}

std::string parseEndpoint(const std::string& endpoint, std::string& host, std::uint16_t& port) {
  const std::string expected =
      "expected host:port, e.g. \"broker.example.com:8883\" or \"[::1]:1883\"";
  if (endpoint.find("://") != std::string::npos) {
    return "must not have a scheme; " + expected + ", got \"" + endpoint + "\"";
  }
  std::string h;
  std::string p;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const auto close = endpoint.find(']');
    if (close == std::string::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':') {
      return expected + ", got \"" + endpoint + "\"";
    }
    h = endpoint.substr(1, close - 1);
    p = endpoint.substr(close + 2);
    if (h.empty() || h.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return "not a valid IPv6 address in brackets: \"" + endpoint + "\"";
    }
  } else {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) {
      return "missing port; " + expected + ", got \"" + endpoint + "\"";
    }
    h = endpoint.substr(0, colon);
    p = endpoint.substr(colon + 1);
    if (h.find(':') != std::string::npos) {
      return "IPv6 addresses must be in brackets; " + expected + ", got \"" + endpoint + "\"";
    }
    if (h.empty() || h.find_first_of(" /[]@?#\t") != std::string::npos) {
      return "not a valid host; " + expected + ", got \"" + endpoint + "\"";
    }
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return "port must be a number from 1 to 65535, got \"" + p + "\"";
  }
  const int n = std::stoi(p);
  if (n < 1 || n > 65535) {
    return "port must be a number from 1 to 65535, got " + p;
  }
  host = h;
  port = static_cast<std::uint16_t>(n);
  return {};
}

BrokerConnection defaultLocalBroker() {
  BrokerConnection b;
  b.endpoint = "aio-mq-dmqtt-frontend:8883";
  b.host = "aio-mq-dmqtt-frontend";
  b.port = 8883;
  b.tls.enabled = true;
  b.tls.trustedCaCertificateConfigMap = "aio-ca-trust-bundle-test-only";
  b.auth.kind = AuthSpec::Kind::Kubernetes;
  b.path = "spec.localBrokerConnection";
  return b;
}

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

namespace {

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
// Why not YAML::LoadAll: yaml-cpp 0.7 loops forever on some streams (a lone "," after a
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

}  // namespace

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
    if (std::find(kKinds.begin(), kKinds.end(), *kind) == kKinds.end()) {
      std::string msg = "unsupported kind \"" + *kind + "\"; expected " +
                        std::string(kConnectorKind) + " or " + kTopicMapKind;
      if (auto near = nearest(*kind, kKinds); !near.empty()) {
        msg += " (did you mean \"" + near + "\"?)";
      }
      top.error("kind", msg);
      return;
    }
    if (apiVersion && *apiVersion != kApiVersion) {
      top.error("apiVersion", "unsupported apiVersion \"" + *apiVersion + "\" for " + *kind +
                                  "; expected " + kApiVersion);
    }
    std::string name;
    std::string ns;
    Location nameWhere = top.location();
    if (YAML::Node md = top.mapping("metadata", true); md.IsDefined()) {
      Fields m(md, file, "metadata", diag_);
      if (auto n = m.str("name", true)) {
        name = *n;
        nameWhere = m.at("name");
        if (auto e = objectNameError(name); !e.empty()) {
          m.error("name", e);
        }
      }
      ns = m.str("namespace").value_or("");
      m.allow({"labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
               "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "finalizers",
               "ownerReferences", "generateName", "selfLink"});
      m.finish();
    }
    top.allow({"status"});
    YAML::Node spec = top.mapping("spec", true);
    top.finish();
    if (!spec.IsDefined()) {
      return;
    }
    Parser p(diag_, file);
    if (*kind == kConnectorKind) {
      ConnectorSpec c;
      c.name = name;
      c.ns = ns;
      c.where = nameWhere;
      p.connector(spec, c);
      config_.connectors.push_back(std::move(c));
    } else {
      TopicMapSpec t;
      t.name = name;
      t.ns = ns;
      t.where = nameWhere;
      p.topicMap(spec, t);
      config_.topicMaps.push_back(std::move(t));
    }
  } catch (const std::exception& e) {
    diag_.error(locationOf(doc, file), "", std::string("cannot read resource: ") + e.what());
  }
}

namespace {

void resolveBroker(const LoadOptions& o, BrokerConnection& b, Diagnostics& diag) {
  if (b.tls.enabled && !b.tls.trustedCaCertificateConfigMap.empty()) {
    const std::string dir =
        (fs::path(o.configmapsDir) / b.tls.trustedCaCertificateConfigMap).string();
    b.tls.caFiles = pemFilesIn(dir);
    if (o.checkFiles) {
      const std::string path = b.path + ".tls.trustedCaCertificateConfigMap";
      if (b.tls.caFiles.empty()) {
        diag.error(b.tls.where, path,
                   "ConfigMap \"" + b.tls.trustedCaCertificateConfigMap +
                       "\": no *.pem or *.crt file in " + dir + " (see --configmaps-dir)");
      }
      for (const auto& f : b.tls.caFiles) {
        if (auto e = checkCertificates(f); !e.empty()) {
          diag.error(b.tls.where, path, e);
        }
      }
    }
  }
  AuthSpec& a = b.auth;
  const std::string apath = b.path + ".authentication";
  switch (a.kind) {
    case AuthSpec::Kind::X509:
      a.certFile = joinPath(o.secretsDir, a.secretName, "client_cert.pem");
      a.keyFile = joinPath(o.secretsDir, a.secretName, "client_key.pem");
      a.intermediateFile = joinPath(o.secretsDir, a.secretName, "client_intermediate_certs.pem");
      if (o.checkFiles && !a.secretName.empty()) {
        if (auto e = checkCertAndKey(a.certFile, a.keyFile); !e.empty()) {
          diag.error(a.where, apath + ".x509.secretName",
                     "Secret \"" + a.secretName + "\": " + e + " (see --secrets-dir)");
        }
        if (isFile(a.intermediateFile)) {
          if (auto e = checkCertificates(a.intermediateFile); !e.empty()) {
            diag.error(a.where, apath + ".x509.secretName",
                       "Secret \"" + a.secretName + "\": " + e);
          }
        }
      }
      break;
    case AuthSpec::Kind::UsernamePassword:
      a.usernameFile = joinPath(o.secretsDir, a.secretName, "username");
      a.passwordFile = joinPath(o.secretsDir, a.secretName, "password");
      if (o.checkFiles && !a.secretName.empty()) {
        checkExists(diag, a.where, apath + ".usernamePassword.secretName", a.usernameFile,
                    "Secret \"" + a.secretName + "\": username", "--secrets-dir");
        checkExists(diag, a.where, apath + ".usernamePassword.secretName", a.passwordFile,
                    "Secret \"" + a.secretName + "\": password", "--secrets-dir");
      }
      break;
    case AuthSpec::Kind::SystemAssignedManagedIdentity:
      a.arcKeyDir = o.arcKeyDir;
      break;
    case AuthSpec::Kind::Kubernetes:
      a.tokenFile = o.saTokenFile;
      if (o.checkFiles) {
        checkExists(diag, a.where, apath + ".kubernetes", a.tokenFile, "service account token",
                    "--sa-token-file");
      }
      break;
    default:
      break;
  }
}

}  // namespace

void Loader::crossCheck() {
  // Duplicate names.
  std::map<std::string, const ConnectorSpec*> connectors;
  for (const auto& c : config_.connectors) {
    if (c.name.empty()) {
      continue;
    }
    auto [it, inserted] = connectors.emplace(c.name, &c);
    if (!inserted) {
      diag_.error(c.where, "metadata.name",
                  "duplicate MqttBridgeConnector \"" + c.name + "\" (also defined at " +
                      where(it->second->where) + ")");
    }
  }
  std::map<std::string, const TopicMapSpec*> maps;
  for (const auto& t : config_.topicMaps) {
    if (t.name.empty()) {
      continue;
    }
    auto [it, inserted] = maps.emplace(t.name, &t);
    if (!inserted) {
      diag_.error(t.where, "metadata.name",
                  "duplicate MqttBridgeTopicMap \"" + t.name + "\" (also defined at " +
                      where(it->second->where) + ")");
    }
  }
  std::vector<std::string> connectorNames;
  for (const auto& [n, c] : connectors) {
    connectorNames.push_back(n);
  }
  // Topic maps name an existing connector; route names are unique per connector.
  std::map<std::string, std::map<std::string, const RouteSpec*>> routesByConnector;
  std::set<std::string> used;
  for (const auto& t : config_.topicMaps) {
    if (t.connectorRef.empty()) {
      continue;
    }
    auto it = connectors.find(t.connectorRef);
    if (it == connectors.end()) {
      std::string msg = "no MqttBridgeConnector named \"" + t.connectorRef + "\"";
      if (auto near = nearest(t.connectorRef, connectorNames); !near.empty()) {
        msg += " (did you mean \"" + near + "\"?)";
      } else if (connectorNames.empty()) {
        msg += " (no connector is defined in the given files)";
      }
      diag_.error(t.refWhere, "spec.mqttBridgeConnectorRef", msg);
      continue;
    }
    used.insert(t.connectorRef);
    if (!it->second->ns.empty() && !t.ns.empty() && it->second->ns != t.ns) {
      diag_.warning(t.refWhere, "spec.mqttBridgeConnectorRef",
                    "connector \"" + t.connectorRef + "\" is in namespace \"" + it->second->ns +
                        "\", this topic map in \"" + t.ns +
                        "\"; in a cluster they would not be linked");
    }
    auto& names = routesByConnector[t.connectorRef];
    for (const auto& r : t.routes) {
      if (r.name.empty()) {
        continue;
      }
      auto [rit, inserted] = names.emplace(r.name, &r);
      if (!inserted) {
        diag_.error(r.where, r.path + ".name",
                    "duplicate route name \"" + r.name + "\" on connector \"" + t.connectorRef +
                        "\" (also at " + where(rit->second->where) +
                        "); route names must be unique per connector" +
                        (r.nameDefaulted || rit->second->nameDefaulted
                             ? " (unnamed routes are named route<N> by position)"
                             : ""));
      }
    }
  }
  for (auto& c : config_.connectors) {
    if (!c.name.empty() && used.count(c.name) == 0 && connectors[c.name] == &c) {
      diag_.warning(
          c.where, "metadata.name",
          "no MqttBridgeTopicMap refers to connector \"" + c.name + "\"; it bridges nothing");
    }
    if (!c.remote.endpoint.empty() && c.remote.endpoint == c.local.endpoint) {
      diag_.warning(c.remote.where, c.remote.path + ".endpoint",
                    "remote and local endpoints are the same broker; routes may loop and "
                    "client IDs collide");
    }
    resolveBroker(opts_, c.remote, diag_);
    resolveBroker(opts_, c.local, diag_);
  }
  // v3 limits: client ID length, shared subscriptions, loops.
  for (const auto& c : config_.connectors) {
    if (c.protocol != MqttVersion::V3) {
      continue;
    }
    std::vector<const RouteSpec*> routes;
    for (const auto& t : config_.topicMaps) {
      if (t.connectorRef != c.name) {
        continue;
      }
      for (const auto& r : t.routes) {
        routes.push_back(&r);
        std::string longest = c.clientIdPrefix + r.name;
        if (r.sharedSubscription) {
          longest += '-';
          longest += std::to_string(r.clientCount() - 1);
          diag_.warning(r.where, r.path + ".sharedSubscription",
                        "connector \"" + c.name +
                            "\" uses MQTT v3.1.1: shared subscriptions break if a broker does "
                            "not support them; use protocol v5");
        }
        if (longest.size() > kMqtt311MaxClientId) {
          diag_.warning(r.where, r.path + ".name",
                        "client ID \"" + longest + "\" is " + std::to_string(longest.size()) +
                            " bytes; MQTT 3.1.1 brokers may refuse IDs longer than 23 bytes");
        }
      }
    }
    for (std::size_t i = 0; i < routes.size(); ++i) {
      for (std::size_t j = i + 1; j < routes.size(); ++j) {
        const RouteSpec& a = *routes[i];
        const RouteSpec& b = *routes[j];
        if (a.direction == b.direction || a.source.empty() || b.source.empty()) {
          continue;
        }
        const std::string ta = topic::templateAsFilter(a.target.value_or(a.source));
        const std::string tb = topic::templateAsFilter(b.target.value_or(b.source));
        if (topic::overlaps(ta, b.source) && topic::overlaps(tb, a.source)) {
          diag_.warning(b.where, b.path,
                        "routes " + a.name + " and " + b.name +
                            " form a loop; on v5 mqbridge breaks it with a hop marker, on v3 it "
                            "cannot");
        }
      }
    }
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
    crossCheck();
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

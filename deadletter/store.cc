#include "deadletter/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"
#include "common/text.h"
#include "mqtt/wire/websocket.h"

namespace mqb::deadletter {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Largest record file read back (a message of the maximum packet size, base64 and all).
constexpr std::uintmax_t kMaxRecordFile = std::uintmax_t{400} << 20;

std::string b64(std::string_view s) {
  return mqtt::wire::base64Encode(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

bool unb64(const json& j, std::string& out) {
  if (!j.is_string()) {
    return false;
  }
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) {
      t[static_cast<unsigned char>(a[i])] = i;
    }
    return t;
  }();
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() % 4 != 0) {
    return false;
  }
  out.clear();
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == s.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      v[k] = table[static_cast<unsigned char>(c)];
      if (v[k] < 0 || pad > 0) {
        return false;
      }
    }
    const std::uint32_t n =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) {
      out.push_back(static_cast<char>((n >> 8) & 0xFF));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(n & 0xFF));
    }
  }
  return true;
}

bool fsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool validId(std::string_view id) {
  return id.size() == 20 && id[13] == '-' && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '-';
         });
}

}  // namespace

std::string toJson(const Record& r) {
  json props = json::object();
  const mqtt::Properties& p = r.message.props;
  if (!p.user.empty()) {
    json user = json::array();
    for (const auto& u : p.user) {
      user.push_back(json::array({b64(u.key), b64(u.value)}));
    }
    props["user_b64"] = std::move(user);
  }
  if (p.contentType) {
    props["content_type_b64"] = b64(*p.contentType);
  }
  if (p.payloadFormat) {
    props["payload_format"] = *p.payloadFormat;
  }
  if (p.messageExpirySeconds) {
    props["message_expiry_seconds"] = *p.messageExpirySeconds;
  }
  if (p.responseTopic) {
    props["response_topic_b64"] = b64(*p.responseTopic);
  }
  if (p.correlationData) {
    props["correlation_data_b64"] = b64(*p.correlationData);
  }
  const json j = {{"id", r.id},
                  {"time_ms", r.timeMs},
                  {"connector", r.connector},
                  {"route", r.route},
                  {"direction", r.direction},
                  {"reason", r.reason},
                  {"detail", common::printable(r.detail, 1000)},
                  {"topic_b64", b64(r.message.topic)},
                  {"qos", r.message.qos},
                  {"retain", r.message.retain},
                  {"properties", std::move(props)},
                  {"payload_b64", b64(r.message.payload)}};
  return j.dump();
}

namespace {

/// The message properties of a record (the "properties" object).
bool propertiesFromJson(const json& pr, mqtt::Properties& p, std::string& error) {
  if (const auto u = pr.find("user_b64"); u != pr.end()) {
    if (!u->is_array()) {
      error = "properties.user_b64 is not an array";
      return false;
    }
    for (const auto& pair : *u) {
      mqtt::UserProperty up;
      if (!pair.is_array() || pair.size() != 2 || !unb64(pair[0], up.key) ||
          !unb64(pair[1], up.value)) {
        error = "properties.user_b64 holds something else than [key, value] pairs";
        return false;
      }
      p.user.push_back(std::move(up));
    }
  }
  for (auto [key, field] : {std::pair{"content_type_b64", &p.contentType},
                            std::pair{"response_topic_b64", &p.responseTopic},
                            std::pair{"correlation_data_b64", &p.correlationData}}) {
    if (pr.contains(key)) {
      std::string v;
      if (!unb64(pr[key], v)) {
        error = std::string("missing or not base64: ") + key;
        return false;
      }
      *field = std::move(v);
    }
  }
  if (const auto f = pr.find("payload_format"); f != pr.end()) {
    if (!f->is_number_unsigned() || f->get<unsigned>() > 1) {
      error = "properties.payload_format out of range";
      return false;
    }
    p.payloadFormat = static_cast<std::uint8_t>(f->get<unsigned>());
  }
  if (const auto e = pr.find("message_expiry_seconds"); e != pr.end()) {
    if (!e->is_number_unsigned() || e->get<std::uint64_t>() > 0xFFFFFFFFu) {
      error = "properties.message_expiry_seconds out of range";
      return false;
    }
    p.messageExpirySeconds = e->get<std::uint32_t>();
  }
  return true;
}

}  // namespace

bool fromJson(std::string_view text, Record& r, std::string& error) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a JSON object";
    return false;
  }
  auto str = [&](const char* k, std::string& out) {
    const auto it = j.find(k);
    if (it == j.end() || !it->is_string()) {
      error = std::string("missing or not a string: ") + k;
      return false;
    }
    out = it->get<std::string>();
    return true;
  };
  auto bin = [&](const json& obj, const char* k, std::string& out) {
    const auto it = obj.find(k);
    if (it == obj.end() || !unb64(*it, out)) {
      error = std::string("missing or not base64: ") + k;
      return false;
    }
    return true;
  };
  r = Record{};
  if (!str("id", r.id) || !str("connector", r.connector) || !str("route", r.route) ||
      !str("direction", r.direction) || !str("reason", r.reason) || !str("detail", r.detail) ||
      !bin(j, "topic_b64", r.message.topic) || !bin(j, "payload_b64", r.message.payload)) {
    return false;
  }
  const auto t = j.find("time_ms");
  const auto q = j.find("qos");
  const auto rt = j.find("retain");
  const auto pr = j.find("properties");
  if (t == j.end() || !t->is_number_integer() || q == j.end() || !q->is_number_unsigned() ||
      q->get<unsigned>() > 2 || rt == j.end() || !rt->is_boolean() || pr == j.end() ||
      !pr->is_object()) {
    error = "time_ms, qos, retain or properties missing or out of range";
    return false;
  }
  r.timeMs = t->get<std::int64_t>();
  r.message.qos = static_cast<std::uint8_t>(q->get<unsigned>());
  r.message.retain = rt->get<bool>();
  return propertiesFromJson(*pr, r.message.props, error);
}

std::string directoryFor(std::string_view stateDir, std::string_view connector,
                         std::string_view route) {
  return (fs::path(common::routeStateDir(stateDir, connector, route)) / "deadletter").string();
}

common::Result<std::unique_ptr<Store>> Store::open(std::string dir, Limits limits) {
  std::error_code ec;
  if (!common::makePrivateDirs(dir, ec)) {
    return common::Error{"dead-letter store: cannot create " + dir + ": " + ec.message()};
  }
  std::unique_ptr<Store> s(new Store(std::move(dir), limits));
  for (const auto& e : fs::directory_iterator(s->dir_, ec)) {
    if (e.path().extension() == ".tmp") {
      fs::remove(e.path(), ec);  // a put() that a crash interrupted
    }
  }
  std::lock_guard<std::mutex> lk(s->mu_);
  s->recountLocked();
  return s;
}

void Store::recountLocked() {
  messages_ = 0;
  bytes_ = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() == ".json" && validId(e.path().stem().string())) {
      ++messages_;
      bytes_ += e.file_size(ec);
    }
  }
}

std::uint64_t Store::messages() const {
  std::lock_guard<std::mutex> lk(mu_);
  return messages_;
}

Store::Put Store::put(Record& r, std::string& error) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (messages_ >= limits_.maxMessages || bytes_ >= limits_.maxBytes) {
      recountLocked();  // an operator may have replayed or deleted records since
    }
    if (messages_ >= limits_.maxMessages || bytes_ >= limits_.maxBytes) {
      error = "dead-letter store full (" + std::to_string(messages_) + " messages, " +
              std::to_string(bytes_) + " bytes)";
      return Put::Full;
    }
    if (now != lastMs_) {
      lastMs_ = now;
      seq_ = 0;
    }
    char id[32];
    std::snprintf(id, sizeof id, "%013lld-%06u", static_cast<long long>(now), seq_++ % 1000000);
    r.id = id;
    if (r.timeMs == 0) {
      r.timeMs = now;
    }
  }
  const std::string body = toJson(r);
  const std::string path = (fs::path(dir_) / (r.id + ".json")).string();
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, common::kPrivateFileMode);
  bool ok = fd >= 0;
  for (std::size_t off = 0; ok && off < body.size();) {
    const ssize_t n = ::write(fd, body.data() + off, body.size() - off);
    ok = n > 0;
    off += ok ? static_cast<std::size_t>(n) : 0;
  }
  ok = ok && ::fdatasync(fd) == 0;
  const int savedErrno = errno;
  if (fd >= 0) {
    ::close(fd);
  }
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0 && fsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  if (!ok) {
    error = "dead-letter store: writing " + path + ": " + common::errnoText(savedErrno);
    std::error_code ec;
    fs::remove(tmp, ec);
    return Put::IoError;
  }
  std::lock_guard<std::mutex> lk(mu_);
  ++messages_;
  bytes_ += body.size();
  return Put::Ok;
}

std::vector<Record> list(const std::string& dir, std::vector<std::string>* bad) {
  std::vector<Record> out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json" && validId(e.path().stem().string())) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string why;
    const auto size = fs::file_size(f, ec);
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    Record r;
    if (ec || size > kMaxRecordFile || !in) {
      why = "unreadable";
    } else {
      ss << in.rdbuf();
      if (!fromJson(ss.str(), r, why)) {
        why = "does not parse: " + why;
      } else if (r.id != f.stem().string()) {
        why = "its id differs from its file name";
      }
    }
    if (!why.empty()) {
      if (bad != nullptr) {
        bad->push_back(f.string() + ": " + why);
      }
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool remove(const std::string& dir, const std::string& id, std::string& error) {
  if (!validId(id)) {
    error = "not a dead-letter id: " + id;
    return false;
  }
  std::error_code ec;
  if (!fs::remove(fs::path(dir) / (id + ".json"), ec)) {
    error = "no dead letter " + id + " in " + dir + (ec ? ": " + ec.message() : "");
    return false;
  }
  return true;
}

}  // namespace mqb::deadletter

#include "spool/record.h"

#include <bit>
#include <cstring>
#include <vector>

#include "spool/crc32c.h"

namespace mqb::spool {
namespace {

static_assert(std::endian::native == std::endian::little, "record encoding assumes little-endian");

constexpr std::size_t kFixedBodyBytes = 1 + 1 + 8 + 8 + 8 + 4 + 4 + 4 + 4;

constexpr std::uint8_t kRetain = 1u << 0;
constexpr std::uint8_t kQosShift = 1;
constexpr std::uint8_t kQosMask = 3u << kQosShift;
constexpr std::uint8_t kContentType = 1u << 3;
constexpr std::uint8_t kPayloadFormat = 1u << 4;
constexpr std::uint8_t kExpiry = 1u << 5;
constexpr std::uint8_t kResponseTopic = 1u << 6;
constexpr std::uint8_t kCorrelation = 1u << 7;

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void putStr(std::string& out, std::string_view s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

template <typename T>
T load(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Bounds-checked cursor over a body. Each read returns false if the body ends before the field
// does (the cursor is then of no further use); a null destination skips the field.
class Parser {
 public:
  explicit Parser(std::string_view b) noexcept : b_(b) {}
  template <typename T>
  bool get(T& v) noexcept {
    if (b_.size() - pos_ < sizeof(T)) {
      return false;
    }
    v = load<T>(b_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool str(std::string* out) {
    std::uint32_t n = 0;
    if (!get(n) || b_.size() - pos_ < n) {
      return false;
    }
    if (out != nullptr) {
      out->assign(b_.data() + pos_, n);
    }
    pos_ += n;
    return true;
  }
  // An optional string, present in the body if `present`: read into `*out` (engaged, its storage
  // reused), or `*out` reset if absent.
  bool optStr(bool present, std::optional<std::string>* out) {
    if (!present) {
      if (out != nullptr) {
        out->reset();
      }
      return true;
    }
    if (out == nullptr) {
      return str(nullptr);
    }
    if (!out->has_value()) {
      out->emplace();
    }
    return str(&**out);
  }
  std::size_t left() const noexcept { return b_.size() - pos_; }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

// Parses the optional properties that `flags` announce, in body order: content type, payload
// format, message expiry, response topic, correlation data. The strings go to `props` (null:
// validate only); the payload format and expiry always go to `format` and `expiry`.
bool parseOptional(Parser& p, std::uint8_t flags, Properties* props,
                   std::optional<std::uint8_t>& format, std::optional<std::uint32_t>& expiry) {
  if (!p.optStr((flags & kContentType) != 0, props != nullptr ? &props->contentType : nullptr)) {
    return false;
  }
  if ((flags & kPayloadFormat) != 0) {
    std::uint8_t f = 0;
    if (!p.get(f)) {
      return false;
    }
    format = f;
  }
  if ((flags & kExpiry) != 0) {
    std::uint32_t e = 0;
    if (!p.get(e)) {
      return false;
    }
    expiry = e;
  }
  return p.optStr((flags & kResponseTopic) != 0,
                  props != nullptr ? &props->responseTopic : nullptr) &&
         p.optStr((flags & kCorrelation) != 0,
                  props != nullptr ? &props->correlationData : nullptr);
}

// Parses the user property count and pairs into m->props.user (`m` null: validate only). A count
// that the bytes left cannot hold is refused before anything is allocated.
bool parseUserProperties(Parser& p, Message* m) {
  std::uint32_t users = 0;
  if (!p.get(users) || users > p.left() / 8) {  // each pair takes at least two length fields
    return false;
  }
  if (m != nullptr) {
    m->props.user.resize(users);
  }
  for (std::uint32_t i = 0; i < users; ++i) {
    UserProperty* u = m != nullptr ? &m->props.user[i] : nullptr;
    if (!p.str(u != nullptr ? &u->key : nullptr) || !p.str(u != nullptr ? &u->value : nullptr)) {
      return false;
    }
  }
  return true;
}

// Parses a body whose checksum already matched. `m` null: validate only. True only if every
// field is sane and the body ends exactly after the last one.
bool parseBody(std::string_view body, std::uint64_t& id, std::int64_t& received, Message* m,
               std::optional<std::uint32_t>* expiryOut = nullptr) {
  Parser p(body);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::uint64_t seq = 0;
  std::uint32_t branch = 0;
  if (!p.get(version) || version != kRecordVersion || !p.get(flags) || !p.get(id) ||
      !p.get(received) || !p.get(seq) || !p.get(branch)) {
    return false;
  }
  const auto qos = static_cast<std::uint8_t>((flags & kQosMask) >> kQosShift);
  if (qos > 2 || id == 0) {
    return false;
  }
  Properties* props = m != nullptr ? &m->props : nullptr;
  if (!p.str(m != nullptr ? &m->topic : nullptr) || !p.str(m != nullptr ? &m->payload : nullptr)) {
    return false;
  }
  std::optional<std::uint8_t> format;
  std::optional<std::uint32_t> expiry;
  if (!parseOptional(p, flags, props, format, expiry) || !parseUserProperties(p, m) ||
      p.left() != 0) {
    return false;
  }
  if (expiryOut != nullptr) {
    *expiryOut = expiry;
  }
  if (m != nullptr) {
    m->qos = qos;
    m->retain = (flags & kRetain) != 0;
    m->props.payloadFormat = format;
    m->props.messageExpirySeconds = expiry;
    m->seq = seq;
    m->branch = branch;
    m->received = SteadyTime{};
    m->notBefore = SteadyTime{};
  }
  return true;
}

// Header checks and checksum; on Ok, `body` is the checksummed body.
ReadResult checkFrame(std::string_view bytes, std::string_view& body) noexcept {
  if (bytes.empty()) {
    return {ReadStatus::End, 0};
  }
  if (bytes.size() < kRecordHeaderBytes) {
    // A torn header still has to start like one; anything else is garbage.
    char magic[4];
    std::memcpy(magic, &kRecordMagic, 4);
    const std::size_t n = bytes.size() < 4 ? bytes.size() : 4;
    return {std::memcmp(bytes.data(), magic, n) == 0 ? ReadStatus::Truncated : ReadStatus::BadMagic,
            0};
  }
  if (load<std::uint32_t>(bytes.data()) != kRecordMagic) {
    return {ReadStatus::BadMagic, 0};
  }
  const std::uint32_t len = load<std::uint32_t>(bytes.data() + 4);
  if (len < kFixedBodyBytes || len > kMaxRecordBodyBytes) {
    return {ReadStatus::BadLength, 0};
  }
  if (bytes.size() - kRecordHeaderBytes < len) {
    return {ReadStatus::Truncated, 0};
  }
  body = bytes.substr(kRecordHeaderBytes, len);
  std::uint32_t crc = crc32c(0, bytes.data(), 8);
  crc = crc32c(crc, body.data(), body.size());
  if (crc != load<std::uint32_t>(bytes.data() + 8)) {
    return {ReadStatus::BadChecksum, 0};
  }
  return {ReadStatus::Ok, kRecordHeaderBytes + len};
}

}  // namespace

std::string_view toString(ReadStatus s) noexcept {
  switch (s) {
    case ReadStatus::Ok:
      return "ok";
    case ReadStatus::End:
      return "end";
    case ReadStatus::Truncated:
      return "truncated";
    case ReadStatus::BadMagic:
      return "bad_magic";
    case ReadStatus::BadLength:
      return "bad_length";
    case ReadStatus::BadChecksum:
      return "bad_checksum";
    case ReadStatus::BadBody:
      return "bad_body";
  }
  return "unknown";
}

std::size_t encodedSize(const Message& m) noexcept {
  std::size_t n = kRecordHeaderBytes + kFixedBodyBytes + m.topic.size() + m.payload.size();
  const Properties& p = m.props;
  if (p.contentType) {
    n += 4 + p.contentType->size();
  }
  if (p.payloadFormat) {
    n += 1;
  }
  if (p.messageExpirySeconds) {
    n += 4;
  }
  if (p.responseTopic) {
    n += 4 + p.responseTopic->size();
  }
  if (p.correlationData) {
    n += 4 + p.correlationData->size();
  }
  for (const UserProperty& u : p.user) {
    n += 8 + u.key.size() + u.value.size();
  }
  return n;
}

void encodeRecord(const Message& m, std::uint64_t id, std::int64_t receivedUnixMs,
                  std::string& out) {
  const std::size_t start = out.size();
  const std::size_t total = encodedSize(m);
  out.reserve(start + total);
  const Properties& p = m.props;
  std::uint8_t flags = static_cast<std::uint8_t>((m.qos & 3u) << kQosShift);
  flags |= m.retain ? kRetain : 0;
  flags |= p.contentType ? kContentType : 0;
  flags |= p.payloadFormat ? kPayloadFormat : 0;
  flags |= p.messageExpirySeconds ? kExpiry : 0;
  flags |= p.responseTopic ? kResponseTopic : 0;
  flags |= p.correlationData ? kCorrelation : 0;

  put<std::uint32_t>(out, kRecordMagic);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(total - kRecordHeaderBytes));
  put<std::uint32_t>(out, 0);  // checksum, filled below
  put<std::uint8_t>(out, kRecordVersion);
  put<std::uint8_t>(out, flags);
  put<std::uint64_t>(out, id);
  put<std::int64_t>(out, receivedUnixMs);
  put<std::uint64_t>(out, m.seq);
  put<std::uint32_t>(out, m.branch);
  putStr(out, m.topic);
  putStr(out, m.payload);
  if (p.contentType) {
    putStr(out, *p.contentType);
  }
  if (p.payloadFormat) {
    put<std::uint8_t>(out, *p.payloadFormat);
  }
  if (p.messageExpirySeconds) {
    put<std::uint32_t>(out, *p.messageExpirySeconds);
  }
  if (p.responseTopic) {
    putStr(out, *p.responseTopic);
  }
  if (p.correlationData) {
    putStr(out, *p.correlationData);
  }
  put<std::uint32_t>(out, static_cast<std::uint32_t>(p.user.size()));
  for (const UserProperty& u : p.user) {
    putStr(out, u.key);
    putStr(out, u.value);
  }
  char* rec = out.data() + start;
  std::uint32_t crc = crc32c(0, rec, 8);
  crc = crc32c(crc, rec + kRecordHeaderBytes, total - kRecordHeaderBytes);
  std::memcpy(rec + 8, &crc, 4);
}

ReadResult decodeRecord(std::string_view bytes, Record& out) {
  std::string_view body;
  ReadResult r = checkFrame(bytes, body);
  if (r.status != ReadStatus::Ok) {
    return r;
  }
  if (!parseBody(body, out.id, out.receivedUnixMs, &out.msg)) {
    return {ReadStatus::BadBody, 0};
  }
  return r;
}

ReadResult checkRecord(std::string_view bytes, std::uint64_t* id, std::int64_t* receivedUnixMs,
                       std::optional<std::uint32_t>* expirySeconds) noexcept {
  std::string_view body;
  ReadResult r = checkFrame(bytes, body);
  if (r.status != ReadStatus::Ok) {
    return r;
  }
  std::uint64_t i = 0;
  std::int64_t t = 0;
  std::optional<std::uint32_t> e;
  if (!parseBody(body, i, t, nullptr, &e)) {  // validate-only: allocates nothing, cannot throw
    return {ReadStatus::BadBody, 0};
  }
  if (id != nullptr) {
    *id = i;
  }
  if (receivedUnixMs != nullptr) {
    *receivedUnixMs = t;
  }
  if (expirySeconds != nullptr) {
    *expirySeconds = e;
  }
  return r;
}

std::size_t findNextRecord(std::string_view bytes, std::size_t from) noexcept {
  char magic[4];
  std::memcpy(magic, &kRecordMagic, 4);
  const std::string_view m(magic, 4);
  while (from < bytes.size()) {
    const std::size_t at = bytes.find(m, from);
    if (at == std::string_view::npos) {
      return std::string_view::npos;
    }
    if (checkRecord(bytes.substr(at)).status == ReadStatus::Ok) {
      return at;
    }
    from = at + 1;
  }
  return std::string_view::npos;
}

ReadStatus RecordReader::next(Record& out) {
  const ReadResult r = decodeRecord(bytes_.substr(offset_), out);
  if (r.status == ReadStatus::Ok) {
    offset_ += r.size;
  }
  return r.status;
}

}  // namespace mqb::spool

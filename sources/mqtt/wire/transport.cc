#include "sources/mqtt/wire/transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace mqb::sources::wire {
namespace {

using Clock = std::chrono::steady_clock;
using Io = Transport::Io;

/// Upper bound of bytes one read() appends.
constexpr std::size_t kMaxRead = 64 * 1024;
/// Largest TLS record payload.
constexpr std::size_t kTlsRecord = 16 * 1024;
/// Upper bound of the WebSocket upgrade response headers.
constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;
/// RFC 6455 section 1.3.
constexpr const char* kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// strerror without the thread-safety problem (GNU strerror_r returns the text).
std::string errnoText(int e) {
  char buf[256];
  const char* s = strerror_r(e, buf, sizeof buf);
  return s != nullptr ? std::string(s) : std::string("errno ") + std::to_string(e);
}

/// Drains OpenSSL's (thread-local) error queue into "reason; reason" (system errors as strerror
/// text, the full code when OpenSSL has no reason text; generic "system lib" entries and
/// repeats dropped).
std::string sslErrors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::string text;
    if (ERR_SYSTEM_ERROR(e)) {
      text = errnoText(ERR_GET_REASON(e));
    } else if (const char* reason = ERR_reason_error_string(e); reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      text = buf;
    }
    if (text.empty() || text == "system lib" || out.find(text) != std::string::npos) {
      continue;
    }
    if (!out.empty()) {
      out += "; ";
    }
    out += text;
  }
  return out;
}

/// Printable, bounded copy of peer-controlled text for error details.
std::string sanitize(std::string_view s, std::size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
  }
  if (s.size() > max) {
    out += "...";
  }
  return out;
}

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return asciiLower(x) == asciiLower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

/// True if the comma-separated header value `list` contains `token` (case-insensitive).
bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset(std::exchange(o.fd_, -1));
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

/// Outcome of waiting for a socket during connect.
enum class Wait { Ready, Timeout, Aborted, Failed };

/// Is `abortFd` readable (or hung up) right now?
bool abortSignalled(int abortFd) {
  if (abortFd < 0) {
    return false;
  }
  pollfd p{abortFd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

/// Waits until `fd` shows one of `events` (or an error/hangup), `abortFd` becomes readable, or
/// `deadline` passes.
Wait waitFd(int fd, short events, Clock::time_point deadline, int abortFd, std::string& why) {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return abortSignalled(abortFd) ? Wait::Aborted : Wait::Timeout;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int timeout = static_cast<int>(std::min<long long>(ms, INT_MAX));
    pollfd p[2] = {{fd, events, 0}, {abortFd, POLLIN, 0}};
    const nfds_t n = abortFd >= 0 ? 2 : 1;
    const int r = ::poll(p, n, timeout);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      why = "poll: " + errnoText(errno);
      return Wait::Failed;
    }
    if (n == 2 && p[1].revents != 0) {
      return Wait::Aborted;
    }
    if (r > 0 && p[0].revents != 0) {
      return Wait::Ready;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A socket BIO that writes with send(MSG_NOSIGNAL): OpenSSL's own socket BIO uses write(), which
// raises SIGPIPE on a connection the peer reset.
// ---------------------------------------------------------------------------------------------

/// What the BIO keeps: the (non-owned) socket and whether recv() saw EOF.
struct BioState {
  int fd = -1;
  bool eof = false;
};

int bioCreate(BIO* b) {
  BIO_set_data(b, nullptr);
  BIO_set_init(b, 0);
  return 1;
}

int bioDestroy(BIO* b) {
  delete static_cast<BioState*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

int bioRead(BIO* b, char* buf, std::size_t len, std::size_t* got) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *got = 0;
  if (st == nullptr) {
    return 0;
  }
  for (;;) {
    const ssize_t n = ::recv(st->fd, buf, len, MSG_DONTWAIT);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      st->eof = true;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(b);
    }
    return 0;
  }
}

int bioWrite(BIO* b, const char* buf, std::size_t len, std::size_t* put) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *put = 0;
  if (st == nullptr) {
    return 0;
  }
  for (;;) {
    const ssize_t n = ::send(st->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      *put = static_cast<std::size_t>(n);
      return 1;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
    }
    return 0;
  }
}

long bioCtrl(BIO* b, int cmd, long /*num*/, void* ptr) {
  auto* st = static_cast<BioState*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return (st != nullptr && st->eof) ? 1 : 0;
    case BIO_C_GET_FD:
      if (st == nullptr) {
        return -1;
      }
      if (ptr != nullptr) {
        *static_cast<int*>(ptr) = st->fd;
      }
      return st->fd;
    default:
      return 0;
  }
}

/// The BIO_METHOD, made once per process (never freed).
const BIO_METHOD* socketBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mqb_sock");
    if (m != nullptr) {
      BIO_meth_set_create(m, bioCreate);
      BIO_meth_set_destroy(m, bioDestroy);
      BIO_meth_set_read_ex(m, bioRead);
      BIO_meth_set_write_ex(m, bioWrite);
      BIO_meth_set_ctrl(m, bioCtrl);
    }
    return m;
  }();
  return method;
}

/// A BIO over `fd` (not owning it), or nullptr.
BIO* newSocketBio(int fd) {
  const BIO_METHOD* m = socketBioMethod();
  if (m == nullptr) {
    return nullptr;
  }
  BIO* b = BIO_new(m);
  if (b == nullptr) {
    return nullptr;
  }
  auto* st = new (std::nothrow) BioState;
  if (st == nullptr) {
    BIO_free(b);
    return nullptr;
  }
  st->fd = fd;
  BIO_set_data(b, st);
  BIO_set_init(b, 1);
  return b;
}

/// Never prompts for a passphrase on the terminal (encrypted keys simply fail to load).
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

// ---------------------------------------------------------------------------------------------
// Random bytes for WebSocket keys and masks
// ---------------------------------------------------------------------------------------------

/// Hands out bytes from a pool refilled with RAND_bytes (frame masks must be unpredictable,
/// RFC 6455 section 5.3; one RAND_bytes call per 64 frames keeps that cheap).
class RandomPool {
 public:
  void take(unsigned char* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      if (used_ == sizeof pool_) {
        if (RAND_bytes(pool_, sizeof pool_) != 1) {
          // No CSPRNG output: still vary the bytes (masking is not a confidentiality measure).
          ERR_clear_error();
          for (auto& b : pool_) {
            b = static_cast<unsigned char>(b * 131 + 7 + used_++);
          }
        }
        used_ = 0;
      }
      out[i] = pool_[used_++];
    }
  }

 private:
  unsigned char pool_[256] = {};
  std::size_t used_ = sizeof pool_;
};

/// dst[i] = src[i] ^ key[i % 4], 8 bytes at a time.
void maskCopy(char* dst, const char* src, std::size_t n, const unsigned char key[4]) noexcept {
  const unsigned char k8b[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t k8 = 0;
  std::memcpy(&k8, k8b, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, src + i, 8);
    v ^= k8;
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i) {
    dst[i] = static_cast<char>(static_cast<unsigned char>(src[i]) ^ key[i & 3]);
  }
}

// ---------------------------------------------------------------------------------------------
// The transport
// ---------------------------------------------------------------------------------------------

/// TCP or TLS byte stream, optionally with WebSocket framing on top.
class StreamTransport final : public Transport {
 public:
  StreamTransport(UniqueFd fd, SslPtr ssl, bool websocket) noexcept
      : fd_(std::move(fd)), ssl_(std::move(ssl)), ws_(websocket) {}

  ~StreamTransport() override = default;
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  int fd() const override { return fd_.get(); }

  Io read(std::string& in) override {
    try {
      if (terminal_ != Io::Ok) {
        return terminal_;
      }
      return ws_ ? readWebSocket(in) : readStream(in);
    } catch (const std::exception& e) {
      return fail(Io::Error, std::string("read: ") + e.what());
    } catch (...) {
      return fail(Io::Error, "read: unknown exception");
    }
  }

  void queue(std::string& data) override {
    try {
      if (data.empty()) {
        return;
      }
      if (ws_) {
        if (!closeSent_) {  // nothing may follow our close frame
          queueFrame(0x2, data.data(), data.size());
        }
        data.clear();
        return;
      }
      if (outOff_ == out_.size()) {
        out_.clear();
        outOff_ = 0;
        out_.swap(data);  // no copy; the caller gets our (empty) buffer and its capacity back
        data.clear();
        return;
      }
      compactOutput();
      out_.append(data);
      data.clear();
    } catch (const std::exception& e) {
      data.clear();
      fail(Io::Error, std::string("queue: ") + e.what());
    } catch (...) {
      data.clear();
      fail(Io::Error, "queue: unknown exception");
    }
  }

  Io flush() override {
    if (terminal_ != Io::Ok) {
      return terminal_;
    }
    return flushOutput();
  }

  bool hasPendingOutput() const override { return outOff_ < out_.size(); }

  short pollEvents() const override {
    short ev = POLLIN;
    if (hasPendingOutput() || readWantsWrite_) {
      ev = static_cast<short>(ev | POLLOUT);
    }
    return ev;
  }

  bool setReceiveLowWater(int bytes) noexcept override {
    if (ssl_ || ws_) {
      return false;
    }
    const int v = std::max(1, bytes);
    return setsockopt(fd_.get(), SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0;
  }

  const std::string& error() const override { return error_; }

  void shutdown() noexcept override {
    if (shutdownDone_) {
      return;
    }
    shutdownDone_ = true;
    if (terminal_ == Io::Error) {
      return;
    }
    try {
      if (ws_ && !closeSent_) {
        closeSent_ = true;
        const unsigned char code[2] = {0x03, 0xE8};  // 1000 normal closure
        queueFrame(0x8, reinterpret_cast<const char*>(code), 2);
      }
    } catch (...) {  // out of memory: skip the close frame
    }
    if (terminal_ == Io::Ok) {
      flushOutput();
    }
    if (ssl_ && !sslFatal_) {
      ERR_clear_error();
      SSL_shutdown(ssl_.get());  // sends close_notify; does not wait for the peer's
      ERR_clear_error();
    }
  }

  // --- used by connectTransport for the WebSocket upgrade ---

  /// One raw read from the stream (TCP or TLS) into buf; got = bytes read.
  Io rawRead(char* buf, std::size_t cap, std::size_t& got) {
    got = 0;
    if (!ssl_) {
      for (;;) {
        const ssize_t n = ::recv(fd_.get(), buf, cap, MSG_DONTWAIT);
        if (n > 0) {
          got = static_cast<std::size_t>(n);
          return Io::Ok;
        }
        if (n == 0) {
          return fail(Io::Closed, "connection closed by peer");
        }
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          want_ = POLLIN;
          return Io::WouldBlock;
        }
        return fail(Io::Error, "recv: " + errnoText(errno));
      }
    }
    readWantsWrite_ = false;
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read_ex(ssl_.get(), buf, cap, &got);
    if (r == 1) {
      return Io::Ok;
    }
    got = 0;
    return sslFailure(r, "TLS read", true);
  }

  /// One raw write to the stream (TCP or TLS); put = bytes taken.
  Io rawWrite(const char* buf, std::size_t len, std::size_t& put) {
    put = 0;
    if (!ssl_) {
      for (;;) {
        const ssize_t n = ::send(fd_.get(), buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
          put = static_cast<std::size_t>(n);
          return Io::Ok;
        }
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          want_ = POLLOUT;
          return Io::WouldBlock;
        }
        return fail(Io::Error, "send: " + errnoText(errno));
      }
    }
    ERR_clear_error();
    errno = 0;
    const int r = SSL_write_ex(ssl_.get(), buf, len, &put);
    if (r == 1) {
      return Io::Ok;
    }
    put = 0;
    return sslFailure(r, "TLS write", false);
  }

  /// After rawRead/rawWrite returned WouldBlock: POLLIN or POLLOUT.
  short want() const noexcept { return want_; }
  /// True if the last failure was a TLS protocol error (e.g. an alert from the server).
  bool tlsFailed() const noexcept { return ssl_ != nullptr && sslFatal_; }
  /// Bytes received after the WebSocket 101 response headers: the start of the first frames.
  void setWebSocketInput(std::string bytes) {
    wsIn_ = std::move(bytes);
    wsOff_ = 0;
  }
  /// The error text of the last failed raw I/O (for ConnectError details).
  const std::string& lastError() const noexcept { return error_; }

 private:
  /// Records a terminal state (Closed/Error stay: later calls return them again).
  Io fail(Io io, std::string why) {
    if (terminal_ == Io::Ok) {
      terminal_ = io;
      error_ = std::move(why);
    }
    return io;
  }

  /// Maps an SSL_read_ex (`reading`) / SSL_write_ex failure to Io.
  Io sslFailure(int r, const char* what, bool reading) {
    const int savedErrno = errno;
    const int e = SSL_get_error(ssl_.get(), r);
    switch (e) {
      case SSL_ERROR_WANT_READ:
        want_ = POLLIN;
        return Io::WouldBlock;
      case SSL_ERROR_WANT_WRITE:
        want_ = POLLOUT;
        if (reading) {
          readWantsWrite_ = true;  // pollEvents() adds POLLOUT until a read gets further
        }
        return Io::WouldBlock;
      case SSL_ERROR_ZERO_RETURN:
        return fail(Io::Closed, "TLS close_notify received");
      case SSL_ERROR_SYSCALL: {
        sslFatal_ = true;
        std::string q = sslErrors();
        if (!q.empty()) {
          return fail(Io::Error, std::string(what) + ": " + q);
        }
        if (savedErrno == 0) {
          return fail(Io::Closed, "connection closed by peer (no TLS close_notify)");
        }
        return fail(Io::Error, std::string(what) + ": " + errnoText(savedErrno));
      }
      case SSL_ERROR_SSL: {
        sslFatal_ = true;
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          ERR_clear_error();
          return fail(Io::Closed, "connection closed by peer (no TLS close_notify)");
        }
        std::string q = sslErrors();
        return fail(Io::Error, std::string(what) + ": " + (q.empty() ? "protocol error" : q));
      }
      default:
        sslFatal_ = true;
        ERR_clear_error();
        return fail(Io::Error, std::string(what) + ": SSL error " + std::to_string(e));
    }
  }

  /// Plain/TLS read(): appends up to kMaxRead bytes to `in`. Bytes are received into a scratch
  /// buffer and appended, rather than received into a resized `in`: std::string::resize
  /// zero-fills, and zeroing 64 KiB per read cost more than everything else per message (callgrind:
  /// 31 % of the bridge's instructions).
  Io readStream(std::string& in) {
    if (drained_) {
      // The last recv() returned less than asked: the socket was empty then. poll() is
      // level-triggered, so skipping the recv() that would say EAGAIN loses nothing.
      drained_ = false;
      want_ = POLLIN;
      return Io::WouldBlock;
    }
    std::size_t total = 0;
    char* buf = scratch();
    while (total < kMaxRead) {
      // SSL_read returns at most one record (16 KiB).
      const std::size_t room = ssl_ ? std::min(kMaxRead - total, kTlsRecord) : kMaxRead - total;
      std::size_t got = 0;
      const Io r = rawRead(buf, room, got);
      in.append(buf, got);
      if (r != Io::Ok) {
        // Bytes already appended are delivered first; a terminal state sticks for the next call.
        return total > 0 ? Io::Ok : r;
      }
      total += got;
      if (!ssl_) {
        drained_ = got < room;
        break;  // one recv() per call; the caller comes back until WouldBlock
      }
    }
    return Io::Ok;
  }

  char* scratch() {
    if (!scratch_) {
      scratch_.reset(new char[kMaxRead]);  // uninitialised on purpose
    }
    return scratch_.get();
  }

  /// WebSocket read(): raw bytes -> frames -> payload of binary/continuation frames into `in`.
  Io readWebSocket(std::string& in) {
    std::size_t delivered = 0;
    for (;;) {
      const Io parsed = parseFrames(in, delivered);
      if (parsed != Io::Ok) {
        return delivered > 0 ? Io::Ok : parsed;  // terminal state sticks
      }
      if (delivered > 0) {
        return Io::Ok;
      }
      std::size_t got = 0;
      Io r;
      if (wsOff_ == wsIn_.size() && inDataFrame_ && payloadLeft_ > 0) {
        // In the middle of a data frame with nothing buffered: receive straight into `in`.
        wsIn_.clear();
        wsOff_ = 0;
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(payloadLeft_, static_cast<std::uint64_t>(kMaxRead)));
        r = rawRead(scratch(), want, got);
        in.append(scratch(), got);
        if (r == Io::Ok) {
          payloadLeft_ -= got;
          delivered += got;
          continue;  // finishes the frame if complete, then returns Ok
        }
      } else {
        if (wsOff_ == wsIn_.size()) {
          wsIn_.clear();
          wsOff_ = 0;
        } else if (wsOff_ > 0) {
          wsIn_.erase(0, wsOff_);  // a partial header or control frame: a few bytes
          wsOff_ = 0;
        }
        r = rawRead(scratch(), kMaxRead, got);
        wsIn_.append(scratch(), got);
        if (r == Io::Ok) {
          continue;
        }
      }
      if (r == Io::Closed && error_ == "connection closed by peer") {
        error_ = "connection closed by peer without a WebSocket close frame";
      }
      return r;
    }
  }

  /// Consumes complete frame headers / control frames and available data payload from wsIn_.
  /// Returns Ok when it needs more bytes, Closed on a close frame, Error on a protocol error.
  Io parseFrames(std::string& in, std::size_t& delivered) {
    for (;;) {
      const std::size_t avail = wsIn_.size() - wsOff_;
      const auto* p = reinterpret_cast<const unsigned char*>(wsIn_.data()) + wsOff_;
      if (inDataFrame_) {
        if (payloadLeft_ > 0) {
          if (avail == 0) {
            return Io::Ok;
          }
          const std::size_t n = static_cast<std::size_t>(
              std::min<std::uint64_t>(payloadLeft_, static_cast<std::uint64_t>(avail)));
          in.append(reinterpret_cast<const char*>(p), n);
          wsOff_ += n;
          payloadLeft_ -= n;
          delivered += n;
          if (payloadLeft_ > 0) {
            return Io::Ok;
          }
        }
        inDataFrame_ = false;
        continue;
      }
      if (avail < 2) {
        return Io::Ok;
      }
      const bool fin = (p[0] & 0x80) != 0;
      const unsigned opcode = p[0] & 0x0F;
      const bool masked = (p[1] & 0x80) != 0;
      const unsigned len7 = p[1] & 0x7F;
      const std::size_t lenBytes = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
      const std::size_t header = 2 + lenBytes + (masked ? 4 : 0);
      if (avail < header) {
        return Io::Ok;
      }
      if ((p[0] & 0x70) != 0) {
        return protocolError("frame with RSV bits set (no extension was negotiated)");
      }
      if (masked) {
        return protocolError("masked frame from the server");
      }
      std::uint64_t len = len7;
      if (lenBytes > 0) {
        len = 0;
        for (std::size_t i = 0; i < lenBytes; ++i) {
          len = (len << 8) | p[2 + i];
        }
        if ((len >> 63) != 0) {
          return protocolError("frame length with the top bit set");
        }
      }
      if (opcode >= 0x8) {  // control frame: handled whole
        if (!fin || len > 125) {
          return protocolError("fragmented or oversized control frame");
        }
        if (avail < header + len) {
          return Io::Ok;
        }
        const char* payload = reinterpret_cast<const char*>(p + header);
        const std::size_t n = static_cast<std::size_t>(len);
        wsOff_ += header + n;
        if (opcode == 0x8) {
          return onClose(payload, n);
        }
        if (opcode == 0x9) {
          if (!closeSent_) {
            queueFrame(0xA, payload, n);  // pong with the same payload
          }
          continue;
        }
        if (opcode == 0xA) {
          continue;  // unsolicited or answered pong: ignored
        }
        return protocolError("unknown control opcode " + std::to_string(opcode));
      }
      if (opcode == 0x2) {
        if (fragmented_) {
          return protocolError("new binary message inside a fragmented one");
        }
        fragmented_ = !fin;
      } else if (opcode == 0x0) {
        if (!fragmented_) {
          return protocolError("continuation frame without a message");
        }
        fragmented_ = !fin;
      } else if (opcode == 0x1) {
        return protocolError("text frame (MQTT over WebSocket is binary)");
      } else {
        return protocolError("unknown data opcode " + std::to_string(opcode));
      }
      wsOff_ += header;
      inDataFrame_ = true;
      payloadLeft_ = len;
    }
  }

  Io protocolError(const std::string& what) {
    return fail(Io::Error, "websocket protocol error: " + what);
  }

  /// A close frame arrived: answer it (once), try to send that now, report Closed.
  Io onClose(const char* payload, std::size_t n) {
    std::string why = "websocket close received";
    unsigned code = 0;
    if (n >= 2) {
      code = (static_cast<unsigned>(static_cast<unsigned char>(payload[0])) << 8) |
             static_cast<unsigned char>(payload[1]);
      why += " (code " + std::to_string(code);
      if (n > 2) {
        why += ": " + sanitize(std::string_view(payload + 2, n - 2), 123);
      }
      why += ")";
    }
    if (!closeSent_) {
      closeSent_ = true;
      queueFrame(0x8, payload, n >= 2 ? 2 : 0);  // echo the status code (RFC 6455 5.5.1)
      flushOutput();
    }
    return fail(Io::Closed, std::move(why));
  }

  /// Appends one masked frame (FIN set) with `opcode` and `payload` to the output.
  void queueFrame(unsigned opcode, const char* payload, std::size_t n) {
    compactOutput();
    unsigned char h[14];
    std::size_t hl = 0;
    h[hl++] = static_cast<unsigned char>(0x80 | opcode);
    if (n < 126) {
      h[hl++] = static_cast<unsigned char>(0x80 | n);
    } else if (n <= 0xFFFF) {
      h[hl++] = 0x80 | 126;
      h[hl++] = static_cast<unsigned char>(n >> 8);
      h[hl++] = static_cast<unsigned char>(n);
    } else {
      h[hl++] = 0x80 | 127;
      const auto n64 = static_cast<std::uint64_t>(n);
      for (int shift = 56; shift >= 0; shift -= 8) {
        h[hl++] = static_cast<unsigned char>(n64 >> shift);
      }
    }
    unsigned char key[4];
    random_.take(key, 4);
    std::memcpy(h + hl, key, 4);
    hl += 4;
    const std::size_t start = out_.size();
    out_.resize(start + hl + n);
    std::memcpy(out_.data() + start, h, hl);
    maskCopy(out_.data() + start + hl, payload, n, key);
  }

  /// Drops already-written output from the front once it is at least half the buffer (amortised
  /// O(1); the unwritten tail keeps its bytes, which is all SSL_write's retry rule needs with
  /// SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
  void compactOutput() {
    if (outOff_ == out_.size()) {
      out_.clear();
      outOff_ = 0;
    } else if (outOff_ > 0 && outOff_ >= out_.size() / 2) {
      out_.erase(0, outOff_);
      outOff_ = 0;
    }
  }

  Io flushOutput() {
    while (outOff_ < out_.size()) {
      std::size_t put = 0;
      const Io r = rawWrite(out_.data() + outOff_, out_.size() - outOff_, put);
      if (r != Io::Ok) {
        return r;
      }
      outOff_ += put;
    }
    out_.clear();  // keeps the capacity
    outOff_ = 0;
    return Io::Ok;
  }

  UniqueFd fd_;  // declared first: closed after SSL_free
  SslPtr ssl_;
  const bool ws_;
  std::string out_;         ///< queued output (already framed for WebSocket)
  std::size_t outOff_ = 0;  ///< bytes of out_ already written
  bool readWantsWrite_ = false;
  bool sslFatal_ = false;  ///< no SSL_shutdown after SSL_ERROR_SSL/SYSCALL
  bool shutdownDone_ = false;
  short want_ = POLLIN;
  Io terminal_ = Io::Ok;  ///< Closed/Error once reached
  std::string error_;
  // WebSocket receive state
  std::string wsIn_;                 ///< raw received bytes not parsed yet (from wsOff_)
  std::unique_ptr<char[]> scratch_;  ///< kMaxRead bytes that recv()/SSL_read() write into
  bool drained_ = false;             ///< plain TCP: the last recv() emptied the socket
  std::size_t wsOff_ = 0;
  bool inDataFrame_ = false;       ///< a binary/continuation frame's payload is being delivered
  std::uint64_t payloadLeft_ = 0;  ///< its payload bytes still to come
  bool fragmented_ = false;        ///< inside a message whose last frame (FIN) has not come
  bool closeSent_ = false;
  RandomPool random_;
};

// ---------------------------------------------------------------------------------------------
// Connect steps
// ---------------------------------------------------------------------------------------------

struct AddrInfoFree {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

/// A getaddrinfo() running on its own thread so that the caller can give up (deadline, abort)
/// without waiting for it; whoever finishes last frees the result.
struct DnsJob {
  std::mutex m;
  bool done = false;
  int rc = 0;
  int sysErrno = 0;
  addrinfo* res = nullptr;
  UniqueFd efd;  ///< eventfd signalled when done
  ~DnsJob() {
    if (res != nullptr) {
      freeaddrinfo(res);
    }
  }
};

addrinfo hintsFor(int flags) {
  addrinfo h{};
  h.ai_family = AF_UNSPEC;
  h.ai_socktype = SOCK_STREAM;
  h.ai_protocol = IPPROTO_TCP;
  h.ai_flags = flags | AI_NUMERICSERV;  // no AI_ADDRCONFIG: it hides loopback-only families
  return h;
}

/// Resolves host:port within the deadline.
AddrInfoPtr resolve(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    int abortFd, ConnectError& err) {
  const std::string service = std::to_string(port);
  addrinfo hints = hintsFor(AI_NUMERICHOST);
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == 0) {
    return AddrInfoPtr(res);
  }
  // A name: resolve on a helper thread so the deadline and abortFd are honoured.
  auto job = std::make_shared<DnsJob>();
  job->efd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  bool threaded = false;
  if (job->efd.get() >= 0) {
    try {
      std::thread([job, host, service] {
        addrinfo h = hintsFor(0);
        addrinfo* r = nullptr;
        const int c = getaddrinfo(host.c_str(), service.c_str(), &h, &r);
        const int e = errno;
        std::lock_guard<std::mutex> lock(job->m);
        job->rc = c;
        job->sysErrno = e;
        job->res = r;
        job->done = true;
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto w = ::write(job->efd.get(), &one, sizeof one);
      }).detach();
      threaded = true;
    } catch (...) {  // no thread: resolve synchronously below
    }
  }
  if (threaded) {
    std::string why;
    switch (waitFd(job->efd.get(), POLLIN, deadline, abortFd, why)) {
      case Wait::Ready:
        break;
      case Wait::Timeout:
        err = {"timeout", "resolving " + host + " took too long"};
        return nullptr;
      case Wait::Aborted:
        err = {"aborted", "aborted while resolving " + host};
        return nullptr;
      case Wait::Failed:
        err = {"dns_failed", why};
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(job->m);
    rc = job->rc;
    res = std::exchange(job->res, nullptr);
    errno = job->sysErrno;
  } else {
    hints = hintsFor(0);
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (rc != 0 || res == nullptr) {
    AddrInfoPtr drop(res);
    const std::string what = rc == EAI_SYSTEM ? errnoText(errno) : std::string(gai_strerror(rc));
    err = {"dns_failed", host + ": " + what};
    return nullptr;
  }
  return AddrInfoPtr(res);
}

/// "127.0.0.1:1883" / "[::1]:1883".
std::string addrText(const addrinfo* a) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return a->ai_family == AF_INET6 ? "[" + std::string(host) + "]:" + serv
                                  : std::string(host) + ":" + serv;
}

/// Connects to the first address that accepts, within the deadline.
UniqueFd connectTcp(const addrinfo* list, Clock::time_point deadline, int abortFd,
                    ConnectError& err) {
  std::string failures;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    const std::string where = addrText(a);
    auto note = [&](const std::string& why) {
      if (!failures.empty()) {
        failures += "; ";
      }
      failures += where + ": " + why;
    };
    UniqueFd s(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (s.get() < 0) {
      note("socket: " + errnoText(errno));
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS && errno != EINTR) {
        note(errnoText(errno));
        continue;
      }
      std::string why;
      switch (waitFd(s.get(), POLLOUT, deadline, abortFd, why)) {
        case Wait::Ready:
          break;
        case Wait::Timeout:
          err = {"timeout", "TCP connect to " + where + " took too long"};
          return UniqueFd();
        case Wait::Aborted:
          err = {"aborted", "aborted while connecting to " + where};
          return UniqueFd();
        case Wait::Failed:
          note(why);
          continue;
      }
      int soError = 0;
      socklen_t len = sizeof soError;
      if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soError, &len) != 0) {
        soError = errno;
      }
      if (soError != 0) {
        note(errnoText(soError));
        continue;
      }
    }
    const int one = 1;
    ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
  }
  err = {"tcp_connect_failed", failures.empty() ? "no address" : failures};
  return UniqueFd();
}

/// Loads every certificate of a PEM file as extra chain certificates.
bool addChainFile(SSL_CTX* ctx, const std::string& file, std::string& why) {
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) {
    why = sslErrors();
    return false;
  }
  int count = 0;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr);
    if (x == nullptr) {
      break;
    }
    if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {  // takes ownership on success
      X509_free(x);
      why = sslErrors();
      return false;
    }
    ++count;
  }
  const unsigned long last = ERR_peek_last_error();
  if (count > 0 && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();  // the normal end of the file
    return true;
  }
  why = count == 0 ? "no certificate found" : sslErrors();
  ERR_clear_error();
  return false;
}

/// Builds the SSL_CTX: trust, client certificate/chain/key, TLS >= 1.2, verification mode.
SslCtxPtr makeContext(const TransportOptions& o, ConnectError& err) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  auto setupFailed = [&](const std::string& detail) {
    err = {"tls_setup_failed", detail};
    ERR_clear_error();
    return nullptr;
  };
  if (!ctx) {
    return setupFailed("SSL_CTX_new: " + sslErrors());
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_default_passwd_cb(ctx.get(), noPassphrase);
  SSL_CTX_set_verify(ctx.get(), o.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (o.caFiles.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return setupFailed("system trust store: " + sslErrors());
    }
  } else {
    for (const auto& f : o.caFiles) {
      if (SSL_CTX_load_verify_locations(ctx.get(), f.c_str(), nullptr) != 1) {
        return setupFailed("CA file " + f + ": " + sslErrors());
      }
    }
  }
  if (!o.certFile.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.certFile.c_str()) != 1) {
      return setupFailed("client certificate " + o.certFile + ": " + sslErrors());
    }
    if (!o.intermediateFile.empty()) {
      std::string why;
      if (!addChainFile(ctx.get(), o.intermediateFile, why)) {
        return setupFailed("intermediate certificates " + o.intermediateFile + ": " + why);
      }
    }
    const std::string& key = o.keyFile.empty() ? o.certFile : o.keyFile;
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return setupFailed("client key " + key + ": " + sslErrors());
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return setupFailed("client key " + key + " does not match certificate " + o.certFile);
    }
  } else if (!o.keyFile.empty()) {
    return setupFailed("client key " + o.keyFile + " given without a client certificate");
  }
  return ctx;
}

/// Creates the SSL over `fd` with SNI and host/IP verification set up.
SslPtr makeSsl(SSL_CTX* ctx, int fd, const std::string& host, bool hostIsIp, bool verifyPeer,
               ConnectError& err) {
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx));
  BIO* bio = ssl ? newSocketBio(fd) : nullptr;
  if (!ssl || bio == nullptr) {
    err = {"tls_setup_failed", "SSL_new: " + sslErrors()};
    return nullptr;
  }
  SSL_set_bio(ssl.get(), bio, bio);  // one reference, owned by the SSL now
  std::string name = host;
  if (!hostIsIp && !name.empty() && name.back() == '.') {
    name.pop_back();  // "example.com." -> SNI and certificate names have no root dot
  }
  bool ok = true;
  if (!hostIsIp) {
    ok = SSL_set_tlsext_host_name(ssl.get(), name.c_str()) == 1;
  }
  if (ok && verifyPeer) {
    if (hostIsIp) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl.get(), name.c_str()) == 1;
    }
  }
  if (!ok) {
    err = {"tls_setup_failed", "cannot use host name " + host + ": " + sslErrors()};
    return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

/// Non-blocking SSL_connect until done, the deadline or an abort.
bool handshake(SSL* ssl, int fd, bool verifyPeer, Clock::time_point deadline, int abortFd,
               ConnectError& err) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_connect(ssl);
    if (r == 1) {
      if (verifyPeer && SSL_get_verify_result(ssl) != X509_V_OK) {  // defensive: cannot happen
        err = {"tls_handshake_failed",
               std::string("certificate verify failed: ") +
                   X509_verify_cert_error_string(SSL_get_verify_result(ssl))};
        return false;
      }
      return true;
    }
    const int savedErrno = errno;
    const int e = SSL_get_error(ssl, r);
    short events = 0;
    if (e == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      const long v = SSL_get_verify_result(ssl);
      std::string detail;
      if (verifyPeer && v != X509_V_OK) {
        detail = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
        ERR_clear_error();
      } else {
        detail = sslErrors();
        if (detail.empty()) {
          detail = (e == SSL_ERROR_SYSCALL && savedErrno != 0)
                       ? errnoText(savedErrno)
                       : "connection closed by peer during the TLS handshake";
        }
      }
      err = {"tls_handshake_failed", detail};
      return false;
    }
    std::string why;
    switch (waitFd(fd, events, deadline, abortFd, why)) {
      case Wait::Ready:
        break;
      case Wait::Timeout:
        err = {"timeout", "TLS handshake took too long"};
        return false;
      case Wait::Aborted:
        err = {"aborted", "aborted during the TLS handshake"};
        return false;
      case Wait::Failed:
        err = {"tls_handshake_failed", why};
        return false;
    }
  }
}

/// Error reason for an I/O failure during the upgrade exchange.
const char* upgradeIoReason(const StreamTransport& t) {
  // A TLS 1.3 server judges our certificate after SSL_connect returned: its alert shows up here.
  return t.tlsFailed() ? "tls_handshake_failed" : "websocket_upgrade_failed";
}

/// HTTP/1.1 upgrade to WebSocket (RFC 6455 section 4) within the deadline.
bool upgrade(StreamTransport& t, const TransportOptions& o, bool hostIsIpv6,
             Clock::time_point deadline, int abortFd, ConnectError& err) {
  std::string path = o.websocketPath.empty() ? "/" : o.websocketPath;
  if (path.front() != '/') {
    path.insert(path.begin(), '/');
  }
  auto badText = [](const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) == 0x7f;
    });
  };
  if (badText(path) || badText(o.host)) {
    err = {"websocket_upgrade_failed", "invalid characters in host or path"};
    return false;
  }
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    ERR_clear_error();
    err = {"websocket_upgrade_failed", "no random bytes for Sec-WebSocket-Key"};
    return false;
  }
  const std::string key = base64Encode(raw, sizeof raw);
  std::string hostHeader = hostIsIpv6 ? "[" + o.host + "]" : o.host;
  if (o.port != (o.tls ? 443 : 80)) {
    hostHeader += ":" + std::to_string(o.port);
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + hostHeader +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " +
                              key +
                              "\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
  auto waitFor = [&](const char* phase) {
    std::string why;
    switch (waitFd(t.fd(), t.want(), deadline, abortFd, why)) {
      case Wait::Ready:
        return true;
      case Wait::Timeout:
        err = {"timeout", std::string("WebSocket upgrade took too long (") + phase + ")"};
        return false;
      case Wait::Aborted:
        err = {"aborted", "aborted during the WebSocket upgrade"};
        return false;
      case Wait::Failed:
        err = {"websocket_upgrade_failed", why};
        return false;
    }
    return false;
  };
  for (std::size_t off = 0; off < request.size();) {
    std::size_t put = 0;
    const Io r = t.rawWrite(request.data() + off, request.size() - off, put);
    if (r == Io::Ok) {
      off += put;
    } else if (r == Io::WouldBlock) {
      if (!waitFor("sending the request")) {
        return false;
      }
    } else {
      err = {upgradeIoReason(t), "sending the upgrade request: " + t.lastError()};
      return false;
    }
  }
  std::string resp;
  std::size_t end = std::string::npos;
  while (end == std::string::npos) {
    if (resp.size() >= kMaxUpgradeResponse) {
      err = {"websocket_upgrade_failed", "upgrade response headers too large"};
      return false;
    }
    char buf[4096];
    std::size_t got = 0;
    const Io r = t.rawRead(buf, sizeof buf, got);
    if (r == Io::Ok) {
      const std::size_t from = resp.size() < 3 ? 0 : resp.size() - 3;
      resp.append(buf, got);
      end = resp.find("\r\n\r\n", from);
    } else if (r == Io::WouldBlock) {
      if (!waitFor("waiting for the response")) {
        return false;
      }
    } else {
      std::string detail = r == Io::Closed ? "connection closed before the upgrade response"
                                           : "reading the upgrade response";
      detail += ": " + t.lastError();
      if (!resp.empty()) {
        detail += " (got: " + sanitize(resp.substr(0, resp.find("\r\n"))) + ")";
      }
      err = {upgradeIoReason(t), detail};
      return false;
    }
  }
  const std::string_view head(resp.data(), end + 2);  // through the last header's CRLF
  const auto eol = head.find("\r\n");
  const std::string_view statusLine = head.substr(0, eol);
  const std::string status = sanitize(statusLine);
  auto failed = [&](const std::string& why) {
    err = {"websocket_upgrade_failed", why.empty() ? status : status + ": " + why};
    return false;
  };
  // "HTTP/1.1 101 Switching Protocols"
  const auto sp = statusLine.find(' ');
  if (statusLine.substr(0, 5) != "HTTP/" || sp == std::string_view::npos ||
      statusLine.substr(sp + 1, 3) != "101" ||
      (statusLine.size() > sp + 4 && statusLine[sp + 4] != ' ')) {
    return failed("");
  }
  bool upgradeOk = false;
  bool connectionOk = false;
  bool acceptOk = false;
  std::string protocol;
  bool extensions = false;
  const std::string expectAccept = websocketAccept(key);
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    const auto e = rest.find("\r\n");
    const std::string_view line = rest.substr(0, e);
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) {
      upgradeOk = iequals(value, "websocket");
    } else if (iequals(name, "connection")) {
      connectionOk = hasToken(value, "upgrade");
    } else if (iequals(name, "sec-websocket-accept")) {
      acceptOk = value == expectAccept;
    } else if (iequals(name, "sec-websocket-protocol")) {
      protocol = std::string(value);
    } else if (iequals(name, "sec-websocket-extensions")) {
      extensions = !value.empty();
    }
  }
  if (!upgradeOk) {
    return failed("missing or wrong Upgrade header");
  }
  if (!connectionOk) {
    return failed("missing or wrong Connection header");
  }
  if (!acceptOk) {
    return failed("missing or wrong Sec-WebSocket-Accept");
  }
  if (!protocol.empty() && protocol != "mqtt") {
    return failed("unexpected subprotocol " + sanitize(protocol));
  }
  if (extensions) {
    return failed("unrequested WebSocket extension");
  }
  t.setWebSocketInput(resp.substr(end + 4));
  return true;
}

std::unique_ptr<Transport> connectImpl(const TransportOptions& o, Clock::time_point deadline,
                                       int abortFd, ConnectError& err) {
  if (abortSignalled(abortFd)) {
    err = {"aborted", "aborted before connecting"};
    return nullptr;
  }
  if (Clock::now() >= deadline) {
    err = {"timeout", "the deadline passed before connecting"};
    return nullptr;
  }
  if (o.host.empty()) {
    err = {"dns_failed", "empty host name"};
    return nullptr;
  }
  in6_addr v6{};
  in_addr v4{};
  const bool isIpv6 = inet_pton(AF_INET6, o.host.c_str(), &v6) == 1;
  const bool isIp = isIpv6 || inet_pton(AF_INET, o.host.c_str(), &v4) == 1;

  SslCtxPtr ctx;
  if (o.tls) {
    ctx = makeContext(o, err);  // before any network I/O: bad files fail fast
    if (!ctx) {
      return nullptr;
    }
  }
  AddrInfoPtr addrs = resolve(o.host, o.port, deadline, abortFd, err);
  if (!addrs) {
    return nullptr;
  }
  UniqueFd sock = connectTcp(addrs.get(), deadline, abortFd, err);
  if (sock.get() < 0) {
    return nullptr;
  }
  SslPtr ssl;
  if (o.tls) {
    ssl = makeSsl(ctx.get(), sock.get(), o.host, isIp, o.verifyPeer, err);
    if (!ssl) {
      return nullptr;
    }
    ctx.reset();  // the SSL holds its own reference
    if (!handshake(ssl.get(), sock.get(), o.verifyPeer, deadline, abortFd, err)) {
      return nullptr;
    }
  }
  auto t = std::make_unique<StreamTransport>(std::move(sock), std::move(ssl), o.websocket);
  if (o.websocket && !upgrade(*t, o, isIpv6, deadline, abortFd, err)) {
    return nullptr;
  }
  err = {};
  return t;
}

}  // namespace

std::string base64Encode(const unsigned char* data, std::size_t len) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            std::uint32_t{data[i + 2]};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (len - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (len - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::string websocketAccept(const std::string& key) {
  const std::string text = key + kWebSocketGuid;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  if (EVP_Digest(text.data(), text.size(), md, &mdLen, EVP_sha1(), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return base64Encode(md, mdLen);
}

std::unique_ptr<Transport> connectTransport(const TransportOptions& o,
                                            std::chrono::steady_clock::time_point deadline,
                                            int abortFd, ConnectError& err) {
  err = {};
  try {
    return connectImpl(o, deadline, abortFd, err);
  } catch (const std::exception& e) {
    err = {"tcp_connect_failed", std::string("internal error: ") + e.what()};
  } catch (...) {
    err = {"tcp_connect_failed", "internal error"};
  }
  return nullptr;
}

}  // namespace mqb::sources::wire

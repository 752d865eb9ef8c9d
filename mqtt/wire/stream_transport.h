#pragma once
// The transport's one implementation (internal to mqtt/wire): a non-blocking TCP or TLS byte
// stream, optionally carrying WebSocket frames (websocket.h).

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mqtt/wire/net.h"
#include "mqtt/wire/tls.h"
#include "mqtt/wire/transport.h"
#include "mqtt/wire/websocket.h"

namespace mqb::mqtt::wire {

/// Upper bound of bytes one read() appends.
inline constexpr std::size_t kMaxRead = 64 * 1024;
/// Largest TLS record payload.
inline constexpr std::size_t kTlsRecord = 16 * 1024;

/// TCP or TLS byte stream, optionally with WebSocket framing on top.
class StreamTransport final : public Transport {
 public:
  StreamTransport(net::UniqueFd fd, tls::SslPtr ssl, bool websocket) noexcept
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
          compactOutput();
          framer_.frame(0x2, data.data(), data.size(), out_);
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

  std::size_t pendingOutput() const override { return out_.size() - outOff_; }

  Cause failureCause() const override { return cause_; }

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
        const char code[2] = {0x03, static_cast<char>(0xE8)};  // 1000 normal closure
        compactOutput();
        framer_.frame(0x8, code, 2, out_);
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
          cause_ = Cause::ConnectionClosed;
          return fail(Io::Closed, "connection closed by peer");
        }
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          want_ = POLLIN;
          return Io::WouldBlock;
        }
        return fail(Io::Error, "recv: " + net::errnoText(errno));
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
        return fail(Io::Error, "send: " + net::errnoText(errno));
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
  void setWebSocketInput(std::string_view bytes) { framer_.feed(bytes.data(), bytes.size()); }
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
        cause_ = Cause::ConnectionClosed;
        return fail(Io::Closed, "TLS close_notify received");
      case SSL_ERROR_SYSCALL: {
        sslFatal_ = true;
        std::string q = tls::sslErrors();
        if (!q.empty()) {
          return fail(Io::Error, std::string(what) + ": " + q);
        }
        if (savedErrno == 0) {
          cause_ = Cause::ConnectionClosed;
          return fail(Io::Closed, "connection closed by peer (no TLS close_notify)");
        }
        return fail(Io::Error, std::string(what) + ": " + net::errnoText(savedErrno));
      }
      case SSL_ERROR_SSL: {
        sslFatal_ = true;
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          ERR_clear_error();
          cause_ = Cause::ConnectionClosed;
          return fail(Io::Closed, "connection closed by peer (no TLS close_notify)");
        }
        std::string q = tls::sslErrors();
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
  /// zero-fills, and zeroing 64 KiB per read would cost more than everything else per message.
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
      const WebSocketFramer::Status st = framer_.parse(in, delivered);
      sendPong();
      if (st == WebSocketFramer::Status::Closed) {
        onClose();
        return delivered > 0 ? Io::Ok : Io::Closed;  // the terminal state sticks
      }
      if (st == WebSocketFramer::Status::Error) {
        cause_ = Cause::WebSocketProtocolError;
        fail(Io::Error, framer_.error());
        return delivered > 0 ? Io::Ok : Io::Error;
      }
      if (delivered > 0) {
        return Io::Ok;
      }
      std::size_t got = 0;
      Io r;
      if (const std::uint64_t direct = framer_.directPayload(); direct > 0) {
        // In the middle of a data frame with nothing buffered: receive straight into `in`.
        const auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>(direct, static_cast<std::uint64_t>(kMaxRead)));
        r = rawRead(scratch(), want, got);
        in.append(scratch(), got);
        if (r == Io::Ok) {
          framer_.tookDirect(got);
          delivered += got;
          continue;  // finishes the frame if complete, then returns Ok
        }
      } else {
        r = rawRead(scratch(), kMaxRead, got);
        framer_.feed(scratch(), got);
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

  /// Queues the pong for the latest ping, if one arrived (never after our close frame).
  void sendPong() {
    std::string payload;
    if (framer_.takePong(payload) && !closeSent_) {
      compactOutput();
      framer_.frame(0xA, payload.data(), payload.size(), out_);
    }
  }

  /// A close frame arrived: answer it (once, echoing the status code as section 5.5.1 asks), try
  /// to send that now, report Closed.
  void onClose() {
    if (!closeSent_) {
      closeSent_ = true;
      const unsigned code = framer_.closeCode();
      const char echo[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
      compactOutput();
      framer_.frame(0x8, echo, code != 0 ? 2 : 0, out_);
      flushOutput();
    }
    cause_ = Cause::ConnectionClosed;
    fail(Io::Closed, framer_.closeText());
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

  net::UniqueFd fd_;  // declared first: closed after SSL_free
  tls::SslPtr ssl_;
  const bool ws_;
  std::string out_;         ///< queued output (already framed for WebSocket)
  std::size_t outOff_ = 0;  ///< bytes of out_ already written
  bool readWantsWrite_ = false;
  bool sslFatal_ = false;  ///< no SSL_shutdown after SSL_ERROR_SSL/SYSCALL
  bool shutdownDone_ = false;
  short want_ = POLLIN;
  Io terminal_ = Io::Ok;  ///< Closed/Error once reached
  std::string error_;
  std::unique_ptr<char[]> scratch_;   ///< kMaxRead bytes that recv()/SSL_read() write into
  bool drained_ = false;              ///< plain TCP: the last recv() emptied the socket
  bool closeSent_ = false;            ///< WebSocket: our close frame is queued
  Cause cause_ = Cause::SocketError;  ///< what a terminal Error/Closed means
  WebSocketFramer framer_;
};

}  // namespace mqb::mqtt::wire

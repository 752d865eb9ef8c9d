// Serving an established connection: decode and dispatch what arrived, write what is queued,
// keep the link alive, sleep until something needs the I/O thread.
//
// Keep-alive rule: any packet received is proof of life. A PINGREQ goes out when nothing was sent
// for the keep-alive (the protocol's rule) or nothing was received for it (to provoke an answer);
// the link is declared dead only when nothing at all came back for the keep-alive plus half of
// it, while we were reading. A peer that takes none of our output for as long is a write stall.

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "mqtt/client.h"
#include "mqtt/client/internal.h"
#include "mqtt/wire/transport.h"

namespace mqb::mqtt {
namespace {

using Io = wire::Transport::Io;

/// Reading at most this much before handling output keeps acks and publishes flowing while a
/// broker sends a large backlog.
constexpr std::size_t kReadBudget = 256 * 1024;

}  // namespace

void Client::serve() {
  for (;;) {
    if (!processInput() || !maintain()) {
      return;
    }
    if (switchWanted_.load(std::memory_order_acquire) && !draining_) {
      beginDrain("the first endpoint is reachable again", Cause::ReturningToPrimary,
                 options_.switchDrain, Clock::now());
      continue;  // maintain() ends the drain at once when nothing is in flight
    }
    bool closingNow;
    {
      std::lock_guard<std::mutex> lk(mu_);
      closingNow = closing_;
    }
    short events = 0;
    int fd = -1;
    if (!writeOutput(closingNow, events, fd)) {
      return;
    }
    if (closingNow) {
      finishClosing();
      return;
    }
    if (!sleepAndRead(events, fd)) {
      return;
    }
  }
}

bool Client::processInput() {
  for (;;) {
    wire::Packet p{};
    const auto st = decoder_.next(p);
    if (st == wire::Decoder::Status::NeedMore) {
      break;
    }
    if (st == wire::Decoder::Status::Error) {
      fail(decoder_.error().find("over the maximum") != std::string::npos ? Cause::PacketTooLarge
                                                                          : Cause::MalformedPacket,
           decoder_.error());
    } else if (st == wire::Decoder::Status::Oversized) {
      onOversized(p);
    } else {
      dispatch(p);
    }
    if (failure_) {
      deliverBatch();  // what arrived intact is passed on (unacknowledged: it comes again)
      deliverAcked();
      dropConnection(std::move(*failure_));
      return false;
    }
  }
  deliverBatch();
  deliverAcked();
  return true;
}

Client::OutputState Client::takeOutput(bool closingNow) {
  OutputState st;
  {
    std::lock_guard<std::mutex> lk(mu_);
    wakePending_ = false;
    st.waiting = inflight_.size();
    st.subscribed = subscribed_;
    st.receiveMaximum = info_.receiveMaximum;
    if (!out_.empty()) {
      sendBuf_.swap(out_);
    }
    if (closingNow) {
      open_ = false;  // from here on publishers neither queue nor touch the transport
      inflight_.clear();
    }
  }
  if (!acks_.empty()) {
    transport_->queue(acks_);
    unackedIn_ = qos2In_.size();  // what the broker may still count against our Receive Maximum
  }
  if (!sendBuf_.empty()) {
    transport_->queue(sendBuf_);
  }
  return st;
}

void Client::checkKeepAlive(Clock::time_point now) {
  const auto keepAlive = keepAlive_;
  if (keepAlive.count() <= 0) {
    return;
  }
  const auto sent = Clock::time_point(Clock::duration(lastSent_.load(std::memory_order_relaxed)));
  const auto grace = keepAlive * 3 / 2;
  const bool reading = !holdReads_.load(std::memory_order_acquire) &&
                       transport_->pendingOutput() < options_.maxOutputBytes;
  if (!reading) {
    lastReceived_ = now;  // nothing is read: silence proves nothing (the write stall rule holds)
  }
  if (now - lastReceived_ >= grace) {
    fail(Cause::KeepAliveTimeout,
         "nothing received for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(now - lastReceived_).count()) +
             " s (keep-alive " + std::to_string(keepAlive.count() / 1000) + " s)");
  } else if (!pingOutstanding_ && (now - sent >= keepAlive || now - lastReceived_ >= keepAlive)) {
    std::string ping;
    wire::encodePingreq(ping);
    transport_->queue(ping);
    pingOutstanding_ = true;
    pingSentAt_ = now;
  }
  if (!failure_ && transport_->hasPendingOutput() && now - lastWriteProgress_ >= grace) {
    fail(Cause::WriteTimeout,
         "the peer took none of our output for " + std::to_string(grace.count()) + " ms");
  }
}

void Client::flushOutput(Clock::time_point now) {
  if (failure_ || !transport_->hasPendingOutput()) {
    if (!transport_->hasPendingOutput()) {
      lastWriteProgress_ = now;
    }
    return;
  }
  const std::size_t before = transport_->pendingOutput();
  const auto io = transport_->flush();
  if (io == Io::Closed || io == Io::Error) {
    fail(io == Io::Closed ? Cause::ConnectionClosed : transport_->failureCause(),
         transport_->error());
  } else {
    lastSent_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  if (transport_->pendingOutput() < before || io == Io::Ok) {
    lastWriteProgress_ = now;
  }
}

void Client::prepareWait(const OutputState& st, std::size_t pending, short& events, int& fd) {
  events = transport_->pollEvents();
  if (holdReads_.load(std::memory_order_acquire) || pending >= options_.maxOutputBytes) {
    // The listener asked for a pause, or the peer does not take our output: read nothing (what
    // we read could make us answer, and the answers could not go either).
    events = static_cast<short>(events & ~POLLIN);
  }
  fd = transport_->fd();
  // A publisher's acknowledgements come one small packet at a time: wake for several. A paced
  // sleep does not wait for POLLIN at all: leave the mark as it is (no syscall).
  const bool pacing = paceUs_.load(std::memory_order_relaxed) > 0;
  lowWaterMayRise_ = !st.subscribed && !pingOutstanding_ && !pacing;
  lowWaterHave_ = decoder_.buffered();
  if (!pacing) {
    const int lowWater =
        lowWaterMayRise_ ? ackLowWater(st.waiting, st.receiveMaximum, lowWaterHave_) : 1;
    if (lowWater != lowWater_) {
      lowWater_ = transport_->setReceiveLowWater(lowWater) ? lowWater : 1;
    }
  }
}

bool Client::writeOutput(bool closingNow, short& events, int& fd) {
  // Our acks first, then what other threads (or callbacks) queued. ioMu_ before mu_, as in
  // directSend(): whoever takes out_ also writes it, so publishes keep their order whichever
  // thread sends them.
  const auto now = Clock::now();
  std::lock_guard<std::mutex> ioLock(ioMu_);
  const OutputState st = takeOutput(closingNow);
  if (closingNow) {
    return true;
  }
  checkKeepAlive(now);
  flushOutput(now);
  const std::size_t pending = transport_->pendingOutput();
  transportPending_.store(pending, std::memory_order_relaxed);
  bool notifyWritable = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (writableWanted_ && out_.size() + pending <= options_.maxOutputBytes / 2) {
      writableWanted_ = false;
      notifyWritable = true;
    }
  }
  if (failure_) {
    return true;  // sleepAndRead() drops the connection
  }
  prepareWait(st, pending, events, fd);
  if (notifyWritable && listener_ != nullptr) {
    listener_->onWritable();  // ioMu_ held: the listener's publishes queue, kick() sees our thread
  }
  return true;
}

int Client::sleepTimeoutMs() const noexcept {
  auto next = nextMaintenance_;
  if (keepAlive_.count() > 0) {
    const auto sent = Clock::time_point(Clock::duration(lastSent_.load(std::memory_order_relaxed)));
    next = std::min(next, pingOutstanding_ ? lastReceived_ + keepAlive_ * 3 / 2
                                           : std::min(sent, lastReceived_) + keepAlive_);
  }
  if (next == Clock::time_point::max()) {
    return -1;
  }
  return std::max(0, detail::msUntil(next)) + 1;
}

bool Client::sleepAndRead(short events, int fd) {
  if (failure_) {
    dropConnection(std::move(*failure_));
    return false;
  }
  // Sleep until the socket, another thread, the keep-alive or maintain() needs us.
  const int timeout = sleepTimeoutMs();
  // A paced sleep ends on a timer (or output, a hang-up, a wake), not on the first byte.
  const std::int64_t paceUs = paceUs_.exchange(0, std::memory_order_relaxed);
  const bool paced = paceUs > 0 && (events & POLLIN) != 0;
  int n;
  pollfd fds[2] = {{fd, events, 0}, {wakeFd_, POLLIN, 0}};
  if (paced) {
    pacedSleeps_.fetch_add(1, std::memory_order_relaxed);
    fds[0].events = static_cast<short>(events & ~POLLIN);
    std::int64_t us = paceUs;
    if (timeout >= 0) {
      us = std::min<std::int64_t>(us, std::int64_t{timeout} * 1000);
    }
    const timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    n = ppoll(fds, 2, &ts, nullptr);
  } else {
    n = poll(fds, 2, timeout);
  }
  if (n < 0) {
    if (errno == EINTR) {
      return true;
    }
    dropConnection(
        Failure{Cause::SocketError, 0, v5(), std::string("poll: ") + std::strerror(errno)});
    return false;
  }
  if (fds[1].revents & POLLIN) {
    detail::drainEventFd(wakeFd_);
  }
  const bool readable = (events & POLLIN) != 0 || paced;
  std::optional<Failure> readFailure;
  if (readable && (paced || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0)) {
    std::size_t budget = kReadBudget;
    std::lock_guard<std::mutex> ioLock(ioMu_);
    for (;;) {
      const std::size_t before = decoder_.buffered();
      const auto io = transport_->read(decoder_.buffer());
      if (io == Io::WouldBlock) {
        break;
      }
      if (io == Io::Closed || io == Io::Error) {
        readFailure =
            Failure{io == Io::Closed ? Cause::ConnectionClosed : transport_->failureCause(), 0,
                    v5(), transport_->error()};
        break;
      }
      lastReceived_ = Clock::now();
      pingOutstanding_ = false;  // any packet is proof of life
      const std::size_t got = decoder_.buffered() - before;
      if (got >= budget) {
        break;
      }
      budget -= got;
    }
  }
  if (readFailure) {
    // What came before the close is decoded first: a DISCONNECT among it names the real cause
    // (processInput() then drops the connection itself).
    if (processInput()) {
      dropConnection(std::move(*readFailure));
    }
    return false;
  }
  return true;
}

void Client::finishClosing() {
  std::chrono::milliseconds grace;
  {
    std::lock_guard<std::mutex> lk(mu_);
    grace = stopTimeout_;
  }
  std::string bye;
  wire::encodeDisconnect(version_, 0, std::nullopt, bye);
  transport_->queue(bye);
  if (writeAll(Clock::now() + grace)) {
    transport_->shutdown();
    drainUntilClosed(Clock::now() + std::min(grace, std::chrono::milliseconds(2000)));
  }
  failure_.reset();
  {
    std::lock_guard<std::mutex> io(ioMu_);
    transport_.reset();
  }
  if (connected_.exchange(false) && observer_ != nullptr) {
    observer_->onStopped();
  }
}

void Client::drainUntilClosed(Clock::time_point deadline) {
  // Closing a socket that still holds unread data makes the kernel send RST instead of FIN, and
  // the broker then discards what it had not read yet: our last PUBACKs and the DISCONNECT. The
  // broker would redeliver those messages (duplicates) and publish the will. So read (and drop)
  // until the broker, having read the DISCONNECT, closes its end.
  std::string discard;
  for (;;) {
    const auto io = transport_->read(discard);
    discard.clear();
    if (io == Io::Closed || io == Io::Error) {
      return;
    }
    if (io == Io::WouldBlock) {
      const int ms = detail::msUntil(deadline);
      if (ms <= 0) {
        return;
      }
      pollfd fd{transport_->fd(), POLLIN, 0};
      if (poll(&fd, 1, ms) <= 0) {
        return;
      }
    }
  }
}

void Client::dropConnection(Failure f) {
  std::vector<Done> failed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;  // first: a publisher that saw it open is done with the transport before...
    out_.clear();
    for (auto& [id, e] : inflight_) {
      if (e.done) {
        failed.push_back(std::move(e.done));
      }
    }
    inflight_.clear();
    writableWanted_ = false;
  }
  {
    std::lock_guard<std::mutex> io(ioMu_);  // ...we take ioMu_ to close it
    transport_.reset();
  }
  transportPending_.store(0, std::memory_order_relaxed);
  sendBuf_.clear();
  acks_.clear();
  batch_.clear();
  batchAcks_.clear();
  acked_.clear();
  decoder_.reset();
  failure_.reset();
  pingOutstanding_ = false;
  for (auto& d : failed) {
    d(false, 0);
  }
  handleLost(f);
}

void Client::handleLost(const Failure& f) {
  if (!connected_.exchange(false)) {
    return;
  }
  if (observer_ != nullptr) {
    observer_->onConnectionLost(f);
  }
  setState("lost", &f);
  if (listener_ != nullptr) {
    listener_->onConnectionLost(f);
  }
}

void Client::fail(Cause cause, std::string detail) {
  if (!failure_) {
    failure_ = Failure{cause, 0, version_ == Version::V5, std::move(detail)};
  }
}

std::size_t Client::windowFor(std::uint16_t receiveMaximum) const noexcept {
  const std::size_t rm = std::max<std::size_t>(1, receiveMaximum);
  return options_.sendWindow == 0 ? rm : std::min(options_.sendWindow, rm);
}

int Client::ackLowWater(std::size_t waiting, std::uint16_t receiveMaximum,
                        std::size_t have) const noexcept {
  constexpr std::size_t kMinAck = 4;  // fixed header + packet id: PUBACK, PUBREC, PUBCOMP
  constexpr std::size_t kMaxAcksPerWake = 32;
  const std::size_t window = windowFor(receiveMaximum);
  if (waiting == 0 || waiting >= window) {
    return 1;
  }
  const std::size_t acks =
      std::min({waiting, std::max<std::size_t>(1, window / 4), kMaxAcksPerWake});
  const std::size_t want = kMinAck * acks;
  return want > have ? static_cast<int>(want - have) : 1;
}

void Client::adjustLowWaterLocked(std::size_t waiting, std::uint16_t receiveMaximum,
                                  bool subscribed) noexcept {
  if (!transport_) {
    return;
  }
  if (subscribed || waiting >= windowFor(receiveMaximum)) {
    if (lowWater_ > 1) {
      // Linux re-checks the socket at once: a poll waiting on the old mark wakes if data is there.
      transport_->setReceiveLowWater(1);
      lowWater_ = 1;
    }
    return;
  }
  if (!lowWaterMayRise_) {
    return;
  }
  // The I/O thread set the mark for the packets in flight when it went to sleep, often only one
  // or two; those sent since then let it sleep for more. Only doubling steps are worth a syscall.
  const int want = ackLowWater(waiting, receiveMaximum, lowWaterHave_);
  if (want >= 2 * lowWater_ && transport_->setReceiveLowWater(want)) {
    lowWater_ = want;
  }
}

}  // namespace mqb::mqtt

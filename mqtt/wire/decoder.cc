// The incremental frame decoder (codec.h).

#include <algorithm>

#include "mqtt/wire/codec.h"

namespace mqb::mqtt::wire {

Decoder::Decoder(std::size_t maxPacketSize) : maxPacketSize_(maxPacketSize) {}

void Decoder::compact() {
  if (pos_ == 0) {
    return;
  }
  if (pos_ >= buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void Decoder::feed(const char* data, std::size_t n) {
  compact();
  buf_.append(data, n);
}

std::string& Decoder::buffer() {
  compact();
  if (want_ > 0 && buf_.capacity() < pos_ + want_) {
    buf_.reserve(pos_ + want_);  // one allocation for a large packet, not a doubling series
  }
  return buf_;
}

void Decoder::discard() {
  const std::size_t n = std::min(skip_, buf_.size() - pos_);
  pos_ += n;
  skip_ -= n;
}

Decoder::Status Decoder::next(Packet& out) {
  if (!error_.empty()) {
    return Status::Error;
  }
  if (skip_ > 0) {
    discard();
    if (skip_ > 0) {
      return Status::NeedMore;
    }
  }
  const std::size_t avail = buf_.size() - pos_;
  if (avail == 0) {
    return Status::NeedMore;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  const std::uint8_t first = p[0];
  if ((first >> 4) == 0) {
    error_ = "reserved packet type 0";
    return Status::Error;
  }
  std::size_t remaining = 0;
  std::size_t i = 1;
  for (;; ++i) {
    if (i > 4) {
      error_ = "malformed remaining length";
      return Status::Error;
    }
    if (i >= avail) {
      return Status::NeedMore;
    }
    remaining |= static_cast<std::size_t>(p[i] & 0x7F) << (7 * (i - 1));
    if ((p[i] & 0x80) == 0) {
      break;
    }
  }
  const std::size_t header = i + 1;
  const std::size_t total = header + remaining;
  out.type = static_cast<PacketType>(first >> 4);
  out.flags = static_cast<std::uint8_t>(first & 0x0F);
  out.size = total;
  if (total > maxPacketSize_) {
    if (out.type != PacketType::Publish) {
      error_ = "packet of " + std::to_string(total) + " bytes over the maximum of " +
               std::to_string(maxPacketSize_);
      return Status::Error;
    }
    const std::size_t head = std::min(remaining, kOversizedHead);
    if (avail < header + head) {
      return Status::NeedMore;
    }
    out.body = std::string_view(buf_.data() + pos_ + header, head);
    pos_ += header + head;
    skip_ = remaining - head;
    discard();  // what is already buffered of the tail; views into buf_ stay valid
    return Status::Oversized;
  }
  if (avail < total) {
    want_ = total;
    return Status::NeedMore;
  }
  want_ = 0;
  out.body = std::string_view(buf_.data() + pos_ + header, remaining);
  pos_ += total;
  return Status::Ok;
}

const std::string& Decoder::error() const { return error_; }

std::size_t Decoder::buffered() const { return buf_.size() - pos_; }

void Decoder::reset() {
  buf_.clear();
  pos_ = 0;
  skip_ = 0;
  want_ = 0;
  error_.clear();
}

}  // namespace mqb::mqtt::wire

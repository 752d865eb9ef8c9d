// ackserver: an MQTT endpoint that only acknowledges, for measuring how fast mqbridge itself can
// drain a backlog (bench/bridge-ab's backlog case). A real broker's own per-message cost bounds a
// drain into it (mosquitto needs ~26 us of CPU per QoS 1 PUBLISH on the 2-vCPU VM of
// bench/RESULTS.md); this endpoint answers CONNECT, PUBLISH (QoS 1: PUBACK, QoS 2: PUBREC, then
// PUBCOMP), PUBREL, SUBSCRIBE, UNSUBSCRIBE and PINGREQ, with one send per read, and discards the
// messages. MQTT 3.1.1 and 5, plain TCP on loopback, one thread, any number of connections.
//
//   ackserver [--port P] [--receive-maximum N] [--count N]
//
// Prints "ready port=P" once listening. After --count PUBLISHes (and on SIGINT/SIGTERM) it prints
//   result received=N first_ns=T last_ns=T span_s=S rate=R
// (CLOCK_MONOTONIC ns of the first and last PUBLISH, rate = messages / span) and exits.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/wire/codec.h"

namespace {

namespace wire = mqb::mqtt::wire;

volatile sig_atomic_t gStop = 0;
void onSignal(int) { gStop = 1; }

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  wire::Decoder decoder;
  wire::Version version = wire::Version::V5;
  std::string out;
};

std::uint16_t be16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(b[at]) << 8) |
                                    static_cast<unsigned char>(b[at + 1]));
}

void connack(Conn& c, std::uint16_t receiveMaximum) {
  if (c.version == wire::Version::V311) {
    c.out.append("\x20\x02\x00\x00", 4);
    return;
  }
  // flags 0, reason 0, properties: Receive Maximum (0x21).
  const char p[] = {'\x20',
                    '\x06',
                    '\x00',
                    '\x00',
                    '\x03',
                    '\x21',
                    static_cast<char>(receiveMaximum >> 8),
                    static_cast<char>(receiveMaximum & 0xff)};
  c.out.append(p, sizeof p);
}

void ack(Conn& c, std::uint8_t type, std::uint16_t id) {
  // type: high nibble incl. flags (0x40 PUBACK, 0x50 PUBREC, 0x62 PUBREL, 0x70 PUBCOMP).
  const char p[] = {static_cast<char>(type), '\x02', static_cast<char>(id >> 8),
                    static_cast<char>(id & 0xff)};
  c.out.append(p, sizeof p);
}

/// Handles one packet; false: close the connection.
bool handle(Conn& c, const wire::Packet& p, std::uint16_t receiveMaximum, std::uint64_t& received,
            std::int64_t& first, std::int64_t& last) {
  const std::string_view b = p.body;
  switch (p.type) {
    case wire::PacketType::Connect: {
      if (b.size() < 7) {
        return false;
      }
      const std::uint16_t nameLen = be16(b, 0);
      if (b.size() < 2u + nameLen + 1u) {
        return false;
      }
      c.version = b[2 + nameLen] == 5 ? wire::Version::V5 : wire::Version::V311;
      connack(c, receiveMaximum);
      return true;
    }
    case wire::PacketType::Publish: {
      const std::uint8_t qos = (p.flags >> 1) & 3;
      if (b.size() < 2) {
        return false;
      }
      const std::size_t topicLen = be16(b, 0);
      const std::int64_t t = nowNs();
      if (received++ == 0) {
        first = t;
      }
      last = t;
      if (qos == 0) {
        return true;
      }
      if (b.size() < 2 + topicLen + 2) {
        return false;
      }
      ack(c, qos == 1 ? 0x40 : 0x50, be16(b, 2 + topicLen));
      return true;
    }
    case wire::PacketType::Pubrel:
      if (b.size() < 2) {
        return false;
      }
      ack(c, 0x70, be16(b, 0));
      return true;
    case wire::PacketType::Subscribe:
    case wire::PacketType::Unsubscribe: {
      if (b.size() < 2) {
        return false;
      }
      // Grant QoS 1 (SUBACK) / success (UNSUBACK) for one filter; v5: empty properties.
      const bool sub = p.type == wire::PacketType::Subscribe;
      const bool v5 = c.version == wire::Version::V5;
      std::string pkt;
      pkt.push_back(static_cast<char>(sub ? 0x90 : 0xB0));
      pkt.push_back(static_cast<char>(v5 ? 4 : (sub ? 3 : 2)));
      pkt.push_back(b[0]);
      pkt.push_back(b[1]);
      if (v5) {
        pkt.push_back('\x00');
      }
      if (sub || v5) {
        pkt.push_back(sub ? '\x01' : '\x00');
      }
      c.out += pkt;
      return true;
    }
    case wire::PacketType::Pingreq:
      c.out.append("\xD0\x00", 2);
      return true;
    case wire::PacketType::Disconnect:
      return false;
    default:
      return true;  // PUBACK/PUBREC/PUBCOMP from a client, AUTH: ignored
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::uint16_t receiveMaximum = 65535;
  std::uint64_t count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (a == "--receive-maximum") {
      receiveMaximum = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    } else if (a == "--count") {
      count = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: ackserver [--port P] [--receive-maximum N] [--count N]\n");
      return 2;
    }
  }
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  signal(SIGPIPE, SIG_IGN);
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 64) != 0) {
    std::perror("ackserver: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("ready port=%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> pfds;
  std::vector<char> scratch(1 << 16);
  std::uint64_t received = 0;
  std::int64_t first = 0, last = 0;
  while (gStop == 0 && (count == 0 || received < count)) {
    pfds.clear();
    pfds.push_back({lfd, POLLIN, 0});
    for (const auto& c : conns) {
      pfds.push_back({c->fd, POLLIN, 0});
    }
    if (poll(pfds.data(), pfds.size(), 200) <= 0) {
      continue;
    }
    if ((pfds[0].revents & POLLIN) != 0) {
      const int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        conns.push_back(std::move(c));
      }
    }
    for (std::size_t i = 1; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) {
        continue;
      }
      Conn& c = *conns[i - 1];
      const ssize_t n = recv(c.fd, scratch.data(), scratch.size(), 0);
      bool keep = n > 0;
      if (keep) {
        c.decoder.feed(scratch.data(), static_cast<std::size_t>(n));
        wire::Packet p;
        wire::Decoder::Status st = wire::Decoder::Status::NeedMore;
        while (keep && (st = c.decoder.next(p)) == wire::Decoder::Status::Ok) {
          keep = handle(c, p, receiveMaximum, received, first, last);
        }
        keep = keep && st != wire::Decoder::Status::Error;
        // Blocking send of the whole answer: acks are small and the client reads them.
        std::size_t off = 0;
        while (keep && off < c.out.size()) {
          const ssize_t w = send(c.fd, c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL);
          keep = w > 0;
          off += w > 0 ? static_cast<std::size_t>(w) : 0;
        }
        c.out.clear();
      }
      if (!keep) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(conns, [](const std::unique_ptr<Conn>& c) { return c->fd < 0; });
  }
  const double span = static_cast<double>(last - first) / 1e9;
  std::printf("result received=%llu first_ns=%lld last_ns=%lld span_s=%.3f rate=%.0f\n",
              static_cast<unsigned long long>(received), static_cast<long long>(first),
              static_cast<long long>(last), span,
              span > 0 ? static_cast<double>(received) / span : 0.0);
  std::fflush(stdout);
  for (const auto& c : conns) {
    close(c->fd);
  }
  close(lfd);
  return 0;
}

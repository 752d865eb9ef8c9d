#include "tests/support/scripted_broker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mqb::test {

int listenOnLoopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

ScriptedBroker::ScriptedBroker(std::function<void(ScriptedBroker&)> script)
    : script_(std::move(script)) {
  lfd_ = listenOnLoopback(port_);
  EXPECT_GE(lfd_, 0);
  thread_ = std::thread([this] { serve(); });
}

ScriptedBroker::~ScriptedBroker() {
  thread_.join();
  if (fd_ >= 0) {
    close(fd_);
  }
  if (lfd_ >= 0) {
    close(lfd_);
  }
}

std::vector<std::pair<mqtt::wire::PacketType, std::string>> ScriptedBroker::recvPackets(
    std::size_t n) {
  std::vector<std::pair<mqtt::wire::PacketType, std::string>> got;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < n && std::chrono::steady_clock::now() < end) {
    mqtt::wire::Packet p;
    if (decoder_.next(p) == mqtt::wire::Decoder::Status::Ok) {
      got.emplace_back(p.type, std::string(p.body));
      continue;
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) == 1) {
      char buf[4096];
      const ssize_t r = recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) {
        break;
      }
      decoder_.feed(buf, static_cast<std::size_t>(r));
    }
  }
  return got;
}

void ScriptedBroker::send(const std::string& bytes) {
  ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

std::string ScriptedBroker::puback(std::uint16_t id) {
  return std::string{'\x40', '\x02', static_cast<char>(id >> 8), static_cast<char>(id & 0xff)};
}

std::string ScriptedBroker::publishQos0(const std::string& topic, const std::string& payload) {
  // Remaining length: topic length (2) + topic + property length (1, zero) + payload.
  const std::size_t rest = 2 + topic.size() + 1 + payload.size();
  EXPECT_LT(rest, 128u);
  std::string p{'\x30', static_cast<char>(rest), static_cast<char>(topic.size() >> 8),
                static_cast<char>(topic.size() & 0xff)};
  p += topic;
  p += '\0';
  p += payload;
  return p;
}

void ScriptedBroker::serve() {
  pollfd pfd{lfd_, POLLIN, 0};
  if (lfd_ < 0 || poll(&pfd, 1, 10000) != 1) {
    return;
  }
  fd_ = accept(lfd_, nullptr, nullptr);
  if (recvPackets(1).size() != 1) {
    return;
  }
  send(std::string("\x20\x06\x00\x00\x03\x21\x00\x64", 8));  // CONNACK, Receive Maximum 100
  script_(*this);
}

}  // namespace mqb::test

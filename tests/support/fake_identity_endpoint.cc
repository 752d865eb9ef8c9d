#include "tests/support/fake_identity_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

namespace mqb::test {

FakeIdentityEndpoint::FakeIdentityEndpoint(std::string token, int lifetimeSeconds)
    : token_(std::move(token)), lifetime_(lifetimeSeconds) {
  keyFile_ = dir_.write("challenge.key", key_);
  listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listenFd_, 16) != 0) {
    throw std::runtime_error("fake identity endpoint: bind/listen failed");
  }
  socklen_t len = sizeof a;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeIdentityEndpoint::~FakeIdentityEndpoint() {
  stop_ = true;
  thread_.join();
  close(listenFd_);
}

std::string FakeIdentityEndpoint::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/metadata/identity/oauth2/token";
}

std::vector<std::string> FakeIdentityEndpoint::requests() const {
  std::lock_guard<std::mutex> lk(mu_);
  return requests_;
}

void FakeIdentityEndpoint::serve() {
  while (!stop_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) {
      continue;
    }
    int fd = accept(listenFd_, nullptr, nullptr);
    if (fd < 0) {
      continue;
    }
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      pollfd r{fd, POLLIN, 0};
      if (poll(&r, 1, 2000) != 1) {
        break;
      }
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      req.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      requests_.push_back(req.substr(0, req.find("\r\n")));
    }
    std::string resp;
    if (req.find("Authorization: Basic " + key_ + "\r\n") != std::string::npos) {
      const long long exp = static_cast<long long>(std::time(nullptr)) + lifetime_;
      const std::string body = "{\"access_token\":\"" + token_ + "\",\"expires_on\":\"" +
                               std::to_string(exp) + "\",\"token_type\":\"Bearer\"}";
      resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      ++issued_;
    } else {
      resp = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=" + keyFile_ +
             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
    close(fd);
  }
}

}  // namespace mqb::test

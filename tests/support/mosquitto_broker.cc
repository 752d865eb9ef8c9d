#include "tests/support/mosquitto_broker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mqb::test {
namespace {

bool canConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

MosquittoBroker::MosquittoBroker(BrokerOptions options) : options_(std::move(options)) {}

MosquittoBroker::~MosquittoBroker() {
  if (pid_ > 0) {
    resume();
    kill();
  }
}

void MosquittoBroker::writeConfig() const {
  std::ostringstream c;
  const struct passwd* pw = getpwuid(getuid());
  if (pw != nullptr) {
    c << "user " << pw->pw_name << "\n";  // as root, mosquitto would otherwise switch users
  }
  c << "per_listener_settings false\n";
  c << "allow_anonymous " << (options_.allowAnonymous ? "true" : "false") << "\n";
  if (options_.persistence) {
    c << "persistence true\npersistence_location " << dir_.path() << "/\nautosave_interval 1\n";
  } else {
    c << "persistence false\n";
  }
  c << "max_queued_messages 0\n";
  c << "log_dest file " << dir_.file("mosquitto.log") << "\n";
  c << "log_type all\n";
  c << "connection_messages true\n";
  c << "log_timestamp true\n";
  if (!options_.passwordFile.empty()) {
    c << "password_file " << options_.passwordFile << "\n";
  }
  if (!options_.plugin.empty()) {
    c << "plugin " << options_.plugin << "\n";
    for (const auto& [k, v] : options_.pluginOptions) {
      c << "plugin_opt_" << k << " " << v << "\n";
    }
  }
  auto tlsLines = [&] {
    c << "cafile " << options_.cafile << "\n";
    c << "certfile " << options_.certfile << "\n";
    c << "keyfile " << options_.keyfile << "\n";
    if (options_.requireCertificate) {
      c << "require_certificate true\n";
    }
  };
  if (options_.tcp) {
    c << "listener " << tcpPort_ << " 127.0.0.1\n";
  }
  if (options_.tls) {
    c << "listener " << tlsPort_ << " 127.0.0.1\n";
    tlsLines();
  }
  if (options_.websockets) {
    // mosquitto 2.0.11 binds websockets listeners to every interface even with an address given;
    // tests only ever connect over loopback.
    c << "listener " << wsPort_ << " 127.0.0.1\nprotocol websockets\n";
  }
  if (options_.secureWebsockets) {
    c << "listener " << wssPort_ << " 127.0.0.1\nprotocol websockets\n";
    tlsLines();
  }
  for (const auto& l : options_.extraConfig) {
    c << l << "\n";
  }
  dir_.write("mosquitto.conf", c.str());
}

bool MosquittoBroker::start(std::chrono::milliseconds timeout) {
  if (pid_ > 0) {
    return true;
  }
  if (tcpPort_ == 0) {
    tcpPort_ = freePort();
    tlsPort_ = options_.tls ? freePort() : 0;
    wsPort_ = options_.websockets ? freePort() : 0;
    wssPort_ = options_.secureWebsockets ? freePort() : 0;
  }
  writeConfig();
  const std::string conf = dir_.file("mosquitto.conf");
  const std::string out = dir_.file("mosquitto.stdout");
  pid_ = fork();
  if (pid_ < 0) {
    return false;
  }
  if (pid_ == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execlp("mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!waitListening(timeout)) {
    kill();
    return false;
  }
  return true;
}

bool MosquittoBroker::waitListening(std::chrono::milliseconds timeout) const {
  return waitFor(
             [&] {
               int status = 0;
               if (waitpid(pid_, &status, WNOHANG) == pid_) {
                 return true;  // exited: checked below
               }
               for (int p : {options_.tcp ? tcpPort_ : 0, tlsPort_, wsPort_, wssPort_}) {
                 if (p != 0 && !canConnect(p)) {
                   return false;
                 }
               }
               return true;
             },
             timeout, std::chrono::milliseconds(10)) &&
         ::kill(pid_, 0) == 0 && [&] {
           int status = 0;
           return waitpid(pid_, &status, WNOHANG) == 0;
         }();
}

void MosquittoBroker::waitExit() {
  if (pid_ <= 0) {
    return;
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void MosquittoBroker::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    waitExit();
  }
}

void MosquittoBroker::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitExit();
  }
}

void MosquittoBroker::pause() {
  if (pid_ > 0) {
    ::kill(pid_, SIGSTOP);
  }
}

void MosquittoBroker::resume() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
  }
}

bool MosquittoBroker::restart(bool hard) {
  if (hard) {
    kill();
  } else {
    stop();
  }
  return start();
}

std::string MosquittoBroker::logText() const {
  return readFile(dir_.file("mosquitto.log")) + readFile(dir_.file("mosquitto.stdout"));
}

config::BrokerConnection MosquittoBroker::connection(const std::string& listener,
                                                     const std::string& caFile,
                                                     bool useHostname) const {
  config::BrokerConnection b;
  b.host = useHostname ? "localhost" : "127.0.0.1";
  if (listener == "tls") {
    b.port = static_cast<std::uint16_t>(tlsPort_);
    b.tls.enabled = true;
  } else if (listener == "ws") {
    b.port = static_cast<std::uint16_t>(wsPort_);
    b.transport = config::Transport::WebSocket;
  } else if (listener == "wss") {
    b.port = static_cast<std::uint16_t>(wssPort_);
    b.transport = config::Transport::WebSocket;
    b.tls.enabled = true;
  } else {
    b.port = static_cast<std::uint16_t>(tcpPort_);
  }
  if (!caFile.empty()) {
    b.tls.caFiles.push_back(caFile);
    b.tls.trustedCaCertificateConfigMap = "test-ca";
  }
  b.endpoint = b.host + ":" + std::to_string(b.port);
  return b;
}

namespace {

// "... New client connected from 127.0.0.1:5555 as <id> (p5, c1, k60)."
std::optional<std::string> connectedId(const std::string& line) {
  const auto at = line.find("New client connected from ");
  if (at == std::string::npos) {
    return std::nullopt;
  }
  const auto as = line.find(" as ", at);
  if (as == std::string::npos) {
    return std::nullopt;
  }
  const auto end = line.find(" (", as + 4);
  return line.substr(as + 4, end == std::string::npos ? std::string::npos : end - as - 4);
}

// "Client <id> disconnected." / "Client <id> closed its connection." / "Client <id> has exceeded
// timeout, disconnecting." / "Socket error on client <id>, disconnecting."
std::optional<std::string> goneId(const std::string& line) {
  for (const char* tail : {" disconnected", " closed its connection", " has exceeded timeout"}) {
    const auto t = line.find(tail);
    const auto c = line.find("Client ");
    if (t != std::string::npos && c != std::string::npos && c < t) {
      return line.substr(c + 7, t - c - 7);
    }
  }
  const auto s = line.find("Socket error on client ");
  if (s != std::string::npos) {
    const auto comma = line.find(',', s);
    return line.substr(s + 23, comma == std::string::npos ? std::string::npos : comma - s - 23);
  }
  return std::nullopt;
}

}  // namespace

std::set<std::string> MosquittoBroker::clientIdsSeen() const {
  std::set<std::string> ids;
  std::istringstream in(readFile(dir_.file("mosquitto.log")));
  std::string line;
  while (std::getline(in, line)) {
    if (auto id = connectedId(line)) {
      ids.insert(*id);
    }
  }
  return ids;
}

std::set<std::string> MosquittoBroker::clientIdsConnected() const {
  std::set<std::string> ids;
  std::istringstream in(readFile(dir_.file("mosquitto.log")));
  std::string line;
  while (std::getline(in, line)) {
    if (auto id = connectedId(line)) {
      ids.insert(*id);
    } else if (auto gone = goneId(line)) {
      ids.erase(*gone);
    }
  }
  return ids;
}

std::string MosquittoBroker::writePasswordFile(const std::string& user,
                                               const std::string& password) {
  const std::string path = dir_.file("passwd");
  const std::string cmd = "mosquitto_passwd -b -c '" + path + "' '" + user + "' '" + password +
                          "' >/dev/null 2>&1 && chmod 0644 '" + path + "'";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("mosquitto_passwd failed");
  }
  options_.passwordFile = path;
  return path;
}

}  // namespace mqb::test

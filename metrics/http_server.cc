#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"

namespace mqb::metrics {

// ---- Watchdog ------------------------------------------------------------------------------

Watchdog::Heartbeat::Heartbeat(const Watchdog& dog, std::string name,
                               std::chrono::nanoseconds maxAge)
    : dog_(dog), name_(std::move(name)), maxAge_(maxAge), last_(dog.nowNs()) {}

void Watchdog::Heartbeat::beat() noexcept {
  try {
    last_.store(dog_.nowNs(), std::memory_order_relaxed);
  } catch (...) {
    // An injected clock that throws: keep the old beat (the probe will report it stale).
  }
}

Watchdog::Watchdog(Now now) : now_(std::move(now)) {
  if (!now_) {
    now_ = [] { return std::chrono::steady_clock::now(); };
  }
}

std::int64_t Watchdog::nowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now_().time_since_epoch()).count();
}

Watchdog::Heartbeat& Watchdog::add(std::string name, std::chrono::nanoseconds maxAge) {
  std::lock_guard<std::mutex> lock(mutex_);
  beats_.push_back(std::unique_ptr<Heartbeat>(new Heartbeat(*this, std::move(name), maxAge)));
  return *beats_.back();
}

Readiness Watchdog::check() const {
  Readiness r;
  const std::int64_t now = nowNs();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& b : beats_) {
    const std::int64_t age = now - b->last_.load(std::memory_order_relaxed);
    if (age > b->maxAge_.count()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(age) / 1e9);
      r.notReady.push_back("heartbeat " + b->name_ + " stale for " + buf);
    }
  }
  return r;
}

// ---- HttpServer ----------------------------------------------------------------------------

namespace {

// While the constructor runs mg_start2 (on its own thread), civetweb's detailed startup errors
// are captured here for the exception instead of being logged.
thread_local std::string* tStartupError = nullptr;

int logCivetweb(const mg_connection* /*conn*/, const char* message) {
  if (tStartupError != nullptr) {
    if (tStartupError->empty()) {
      *tStartupError = message;  // the first message is the specific one
    }
    return 1;
  }
  static log::Every every(std::chrono::seconds(10));
  std::uint64_t suppressed = 0;
  if (every.allow(&suppressed)) {
    log::warn("metrics_http_error", {{"error", message}, {"suppressed", suppressed}});
  }
  return 1;  // handled: civetweb prints nothing itself
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

int respond(mg_connection* conn, int status, const char* contentType, std::string_view body,
            bool head) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, reason(status), contentType, body.size());
  if (!head && !body.empty()) {
    mg_write(conn, body.data(), body.size());
  }
  return status;
}

/// Opens and closes one TCP connection to the listener (best effort, never blocks long).
/// civetweb's accept loop polls with a 2 s timeout and only sees mg_stop()'s flag when it wakes:
/// a connection wakes it at once.
void poke(const std::string& address, int port) {
  std::string host = address.substr(0, address.rfind(':'));
  if (address.find(':') == std::string::npos) {
    host.clear();  // "PORT" only
  }
  const bool v6 = !host.empty() && host.front() == '[';
  if (v6) {
    host = host.substr(1, host.size() - 2);
    if (host == "::") {
      host = "::1";
    }
  } else if (host.empty() || host == "0.0.0.0") {
    host = "127.0.0.1";
  }
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      return;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return;  // a host name: no poke, stopping just takes up to 2 s
    }
    len = sizeof(sockaddr_in);
  }
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  (void)connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  close(fd);
}

std::string render(const Readiness& r, const char* okText) {
  if (r.ready()) {
    return okText;
  }
  std::string body;
  for (const auto& line : r.notReady) {
    body += line;
    body += '\n';
  }
  return body;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)), address_(options.address) {
  mg_init_library(0);
  const std::string threads = std::to_string(options.threads > 0 ? options.threads : 1);
  const char* opts[] = {"listening_ports",
                        options.address.c_str(),
                        "num_threads",
                        threads.c_str(),
                        "request_timeout_ms",
                        "10000",
                        "enable_keep_alive",
                        "no",
                        nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &logCivetweb;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = opts;
  char errText[256] = {0};
  unsigned errCode = 0;
  mg_error_data err{};
  err.code = &errCode;
  err.text = errText;
  err.text_buffer_size = sizeof errText;
  std::string detail;
  tStartupError = &detail;
  ctx_ = mg_start2(&init, &err);
  tStartupError = nullptr;
  if (ctx_ == nullptr) {
    mg_exit_library();
    std::string why = errText[0] != 0 ? errText : "cannot listen";
    if (!detail.empty()) {
      why += " (" + detail + ")";
    }
    throw std::runtime_error("metrics address " + options.address + ": " + why);
  }
  for (const char* uri : {"/metrics$", "/healthz$", "/readyz$", "/"}) {
    mg_set_request_handler(ctx_, uri, &HttpServer::handle, this);
  }
  mg_server_port ports[4]{};
  const int n = mg_get_server_ports(ctx_, 4, ports);
  port_ = n > 0 ? ports[0].port : 0;
}

HttpServer::~HttpServer() {
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    mg_stop(ctx_);
    stopped.store(true);
  });
  // Wake civetweb's accept loop so that it notices the stop flag now rather than after its
  // 2 s poll timeout. Bounded: after 100 pokes (~2 s) the poll timeout has passed anyway.
  for (int i = 0; i < 100 && !stopped.load(); ++i) {
    poke(address_, port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
  mg_exit_library();
}

void HttpServer::setHealthCheck(Check check) {
  std::lock_guard<std::mutex> lock(mutex_);
  health_ = std::move(check);
}

void HttpServer::setReadinessCheck(Check check) {
  std::lock_guard<std::mutex> lock(mutex_);
  readiness_ = std::move(check);
}

HttpServer::Check HttpServer::health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return health_;
}

HttpServer::Check HttpServer::readiness() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return readiness_;
}

int HttpServer::handle(mg_connection* conn, void* self) noexcept {
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool head = ri->request_method != nullptr && std::string_view(ri->request_method) == "HEAD";
  try {
    if (ri->request_method == nullptr || (std::string_view(ri->request_method) != "GET" && !head)) {
      return respond(conn, 405, "text/plain; charset=utf-8", "method not allowed\n", head);
    }
    return static_cast<HttpServer*>(self)->serve(conn, ri->local_uri ? ri->local_uri : "");
  } catch (const std::exception& e) {
    return respond(conn, 500, "text/plain; charset=utf-8", std::string(e.what()) + "\n", head);
  } catch (...) {
    return respond(conn, 500, "text/plain; charset=utf-8", "internal error\n", head);
  }
}

int HttpServer::serve(mg_connection* conn, const std::string& path) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool head = std::string_view(ri->request_method) == "HEAD";
  constexpr const char* kText = "text/plain; charset=utf-8";
  if (path == "/metrics") {
    const std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
    return respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body, head);
  }
  if (path == "/healthz") {
    const Check check = health();
    if (!check) {
      return respond(conn, 200, kText, "ok\n", head);
    }
    const Readiness r = check();
    return respond(conn, r.ready() ? 200 : 503, kText, render(r, "ok\n"), head);
  }
  if (path == "/readyz") {
    const Check check = readiness();
    if (!check) {
      return respond(conn, 503, kText, "starting\n", head);
    }
    const Readiness r = check();
    return respond(conn, r.ready() ? 200 : 503, kText, render(r, "ready\n"), head);
  }
  return respond(conn, 404, kText, "not found; try /metrics, /healthz or /readyz\n", head);
}

}  // namespace mqb::metrics

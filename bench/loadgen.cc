// Load generator and counter for bridge benchmarks (bench/bridge-ab), on Paho MQTTAsync, MQTT v5.
//
// Roles (one process may do both, or run them as two processes to give each its own Paho threads):
//   --role sub   subscribe on --sub-uri to --sub-topic, count --count numbered messages, check
//                loss / duplicates / order, record latency (send timestamp in the payload, same
//                host CLOCK_MONOTONIC), print one `key=value` result line.
//   --role pub   publish --count numbered messages on --pub-uri / --topic:
//                QoS 1: a window of --window in-flight messages, refilled from the completion
//                callback (keep it <= the broker's Receive Maximum: above it Paho refills its
//                window only once a second);
//                --rate R > 0: paced at R msg/s instead (latency at a fixed load);
//                QoS 0 with --rate 0: closed loop on the subscriber's progress (sent - received
//                <= --window, via the mmap'ed --progress-file), so brokers drop nothing.
//   --role both  both, two clients in one process.
//
// Payload: uint64 sequence number, int64 send time (ns, steady_clock), padded to --size (>= 16).
//
//   loadgen --role both --pub-uri tcp://127.0.0.1:1883 --sub-uri tcp://127.0.0.1:1884
//           --count 100000 --qos 1 --size 64 --window 100

#include <MQTTAsync.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Args {
  std::string role = "both";
  std::string pubUri = "tcp://127.0.0.1:1883";
  std::string subUri = "tcp://127.0.0.1:1884";
  std::string topic = "bench/t";
  std::string subTopic;  // default: topic
  std::string progressFile;
  std::string id = "loadgen";
  long count = 100000;
  int qos = 1;
  int size = 64;
  int window = 100;
  double rate = 0;
  double timeout = 120;
  double idle = 5;        // subscriber gives up this long after the last message
  int sessionExpiry = 0;  // > 0: the subscriber keeps a persistent session (cleanstart 0)
};

bool parseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "loadgen: %s needs a value\n", k.c_str());
      return false;
    }
    const char* v = argv[++i];
    if (k == "--role")
      a.role = v;
    else if (k == "--pub-uri")
      a.pubUri = v;
    else if (k == "--sub-uri")
      a.subUri = v;
    else if (k == "--topic")
      a.topic = v;
    else if (k == "--sub-topic")
      a.subTopic = v;
    else if (k == "--progress-file")
      a.progressFile = v;
    else if (k == "--id")
      a.id = v;
    else if (k == "--count")
      a.count = std::atol(v);
    else if (k == "--qos")
      a.qos = std::atoi(v);
    else if (k == "--size")
      a.size = std::max(16, std::atoi(v));
    else if (k == "--window")
      a.window = std::max(1, std::atoi(v));
    else if (k == "--rate")
      a.rate = std::atof(v);
    else if (k == "--timeout")
      a.timeout = std::atof(v);
    else if (k == "--idle")
      a.idle = std::atof(v);
    else if (k == "--session-expiry")
      a.sessionExpiry = std::atoi(v);
    else {
      std::fprintf(stderr, "loadgen: unknown option %s\n", k.c_str());
      return false;
    }
  }
  if (a.subTopic.empty()) a.subTopic = a.topic;
  return a.count > 0 && (a.qos == 0 || a.qos == 1);
}

/// A counter shared between the subscriber and a publisher in another process.
class Progress {
 public:
  bool open(const std::string& path) {
    if (path.empty()) {
      p_ = &local_;
      return true;
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ::ftruncate(fd, 64) != 0) {
      return false;
    }
    void* m = ::mmap(nullptr, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) {
      return false;
    }
    p_ = static_cast<std::atomic<std::uint64_t>*>(m);
    return true;
  }
  std::atomic<std::uint64_t>& value() { return *p_; }

 private:
  std::atomic<std::uint64_t> local_{0};
  std::atomic<std::uint64_t>* p_ = nullptr;
};

struct Conn {
  MQTTAsync client = nullptr;
  std::atomic<int> state{0};  // 0 connecting, 1 connected, -1 failed
  std::atomic<int> subscribed{0};

  static void onConnect(void* ctx, MQTTAsync_successData5*) {
    static_cast<Conn*>(ctx)->state.store(1);
  }
  static void onConnectFailure(void* ctx, MQTTAsync_failureData5* r) {
    std::fprintf(stderr, "loadgen: connect failed: %d\n", r ? r->code : 0);
    static_cast<Conn*>(ctx)->state.store(-1);
  }
  static void onSubscribe(void* ctx, MQTTAsync_successData5*) {
    static_cast<Conn*>(ctx)->subscribed.store(1);
  }
  static void onSubscribeFailure(void* ctx, MQTTAsync_failureData5*) {
    static_cast<Conn*>(ctx)->subscribed.store(-1);
  }

  bool connect(const std::string& uri, const std::string& id) {
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.MQTTVersion = MQTTVERSION_5;
    if (MQTTAsync_createWithOptions(&client, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE,
                                    nullptr, &co) != MQTTASYNC_SUCCESS) {
      return false;
    }
    return true;
  }
  bool start(int maxInflight, int sessionExpiry = 0) {
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
    o.cleanstart = sessionExpiry > 0 ? 0 : 1;
    MQTTProperties props = MQTTProperties_initializer;
    if (sessionExpiry > 0) {
      MQTTProperty p;
      std::memset(&p, 0, sizeof p);
      p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
      p.value.integer4 = static_cast<unsigned int>(sessionExpiry);
      MQTTProperties_add(&props, &p);
      o.connectProperties = &props;
    }
    o.keepAliveInterval = 60;
    o.maxInflight = maxInflight;
    o.context = this;
    o.onSuccess5 = &Conn::onConnect;
    o.onFailure5 = &Conn::onConnectFailure;
    const int rc = MQTTAsync_connect(client, &o);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
      return false;
    }
    return waitFor([this] { return state.load() != 0; }, 10) && state.load() == 1;
  }
  template <typename F>
  static bool waitFor(F done, double seconds) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
};

// ---------------------------------------------------------------- subscriber
struct Sub {
  const Args* args = nullptr;
  Progress* progress = nullptr;
  std::vector<std::uint8_t> seen;
  std::vector<std::uint32_t> latUs;  // per received message
  std::atomic<long> received{0};
  long dups = 0, reorders = 0, bad = 0;
  std::uint64_t maxSeq = 0;
  bool any = false;
  std::int64_t firstSend = INT64_MAX, firstRecv = 0, halfRecv = 0, lastRecv = 0;
  std::atomic<std::int64_t> lastRecvAtomic{0};

  static int onMessage(void* ctx, char* topic, int, MQTTAsync_message* m) {
    auto* self = static_cast<Sub*>(ctx);
    const std::int64_t now = nowNs();
    if (m->payloadlen >= 16) {
      std::uint64_t seq;
      std::int64_t ts;
      std::memcpy(&seq, m->payload, 8);
      std::memcpy(&ts, static_cast<const char*>(m->payload) + 8, 8);
      if (seq < self->seen.size()) {
        if (self->seen[seq]) {
          ++self->dups;
        } else {
          self->seen[seq] = 1;
          if (self->any && seq < self->maxSeq) ++self->reorders;
          self->maxSeq = std::max(self->maxSeq, seq);
          self->any = true;
          self->firstSend = std::min(self->firstSend, ts);
          if (self->firstRecv == 0) self->firstRecv = now;
          self->lastRecv = now;
          self->latUs.push_back(
              static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - ts) / 1000));
          if (self->received.fetch_add(1, std::memory_order_relaxed) + 1 == self->args->count / 2) {
            self->halfRecv = now;  // tail_rate: the second half, past any initial burst
          }
          self->progress->value().fetch_add(1, std::memory_order_relaxed);
        }
      } else {
        ++self->bad;
      }
    } else {
      ++self->bad;
    }
    self->lastRecvAtomic.store(now, std::memory_order_relaxed);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
  }
};

// ---------------------------------------------------------------- publisher
struct Pub {
  const Args* args = nullptr;
  Conn* conn = nullptr;
  std::string buf;
  std::atomic<long> next{0};
  std::atomic<long> acked{0};
  std::atomic<long> errors{0};
  long sentPaced = 0;
  bool windowed = false;

  int sendOne(long seq, bool withCallback) {
    thread_local std::string payload;
    payload.assign(static_cast<std::size_t>(args->size), 'x');
    const std::uint64_t s = static_cast<std::uint64_t>(seq);
    const std::int64_t ts = nowNs();
    std::memcpy(payload.data(), &s, 8);
    std::memcpy(payload.data() + 8, &ts, 8);
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = payload.data();
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = args->qos;
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = this;
    if (withCallback) {
      r.onSuccess5 = &Pub::onSent;
      r.onFailure5 = &Pub::onFailed;
    }
    return MQTTAsync_sendMessage(conn->client, args->topic.c_str(), &m, &r);
  }
  // Windowed mode: after the first message every send happens on Paho's receive thread, from the
  // completion of an earlier one, so sequence numbers leave in order. Each completion sends up to
  // two until `window` messages are in flight.
  void sendNext() {
    const long seq = next.load(std::memory_order_relaxed);
    if (seq >= args->count) {
      return;
    }
    next.store(seq + 1, std::memory_order_relaxed);
    if (sendOne(seq, true) != MQTTASYNC_SUCCESS) {
      errors.fetch_add(1);
    }
  }
  void refill() {
    if (!windowed) {
      return;
    }
    for (int k = 0; k < 2 && next.load() - acked.load() < args->window; ++k) {
      sendNext();
    }
  }
  static void onSent(void* ctx, MQTTAsync_successData5*) {
    auto* self = static_cast<Pub*>(ctx);
    self->acked.fetch_add(1);
    self->refill();  // the completion sends the next ones (allowed inside callbacks)
  }
  static void onFailed(void* ctx, MQTTAsync_failureData5* r) {
    auto* self = static_cast<Pub*>(ctx);
    std::fprintf(stderr, "loadgen: publish failed: %d\n", r ? r->code : 0);
    self->errors.fetch_add(1);
    self->acked.fetch_add(1);
    self->refill();
  }
};

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parseArgs(argc, argv, a)) {
    std::fprintf(stderr, "usage: see bench/loadgen.cc\n");
    return 2;
  }
  const bool doSub = a.role == "sub" || a.role == "both";
  const bool doPub = a.role == "pub" || a.role == "both";
  Progress progress;
  if (!progress.open(a.progressFile)) {
    std::fprintf(stderr, "loadgen: cannot map %s\n", a.progressFile.c_str());
    return 1;
  }

  Conn subConn, pubConn;
  Sub sub;
  sub.args = &a;
  sub.progress = &progress;
  if (doSub) {
    sub.seen.assign(static_cast<std::size_t>(a.count), 0);
    sub.latUs.reserve(static_cast<std::size_t>(a.count));
    if (!subConn.connect(a.subUri, a.id + "-sub")) return 1;
    MQTTAsync_setCallbacks(subConn.client, &sub, nullptr, &Sub::onMessage, nullptr);
    if (!subConn.start(65535, a.sessionExpiry)) return 1;
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = &subConn;
    r.onSuccess5 = &Conn::onSubscribe;
    r.onFailure5 = &Conn::onSubscribeFailure;
    MQTTAsync_subscribe(subConn.client, a.subTopic.c_str(), a.qos, &r);
    if (!Conn::waitFor([&] { return subConn.subscribed.load() != 0; }, 10) ||
        subConn.subscribed.load() != 1) {
      std::fprintf(stderr, "loadgen: subscribe failed\n");
      return 1;
    }
    if (a.role == "sub") {
      std::printf("ready\n");
      std::fflush(stdout);
    }
  }

  Pub pub;
  pub.args = &a;
  pub.conn = &pubConn;
  std::int64_t pubStart = 0, pubEnd = 0;
  if (doPub) {
    if (!pubConn.connect(a.pubUri, a.id + "-pub")) return 1;
    if (!pubConn.start(std::max(a.window, 10))) return 1;
    pubStart = nowNs();
    const auto deadline = Clock::now() + std::chrono::duration<double>(a.timeout);
    if (a.rate > 0) {
      // Paced: message i is due at start + i / rate.
      const auto t0 = Clock::now();
      for (long i = 0; i < a.count && Clock::now() < deadline; ++i) {
        const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(i) / a.rate));
        if (Clock::now() < due) std::this_thread::sleep_until(due);
        if (a.qos > 0) {
          // Stay within the window even when paced (beyond it Paho stalls for a second).
          while (i - pub.acked.load() >= a.window && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
          }
        }
        while (pub.sendOne(i, a.qos > 0) != MQTTASYNC_SUCCESS && Clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        pub.sentPaced = i + 1;
      }
    } else if (a.qos > 0) {
      pub.windowed = true;
      pub.sendNext();
      Conn::waitFor([&] { return pub.acked.load() >= a.count; }, a.timeout);
    } else {
      // QoS 0 as fast as the path takes them: at most `window` messages between us and the
      // subscriber.
      auto& done = progress.value();
      for (long i = 0; i < a.count && Clock::now() < deadline; ++i) {
        while (static_cast<std::uint64_t>(i) >=
               done.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(a.window)) {
          if (Clock::now() > deadline) break;
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        while (pub.sendOne(i, false) != MQTTASYNC_SUCCESS && Clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        pub.sentPaced = i + 1;
      }
    }
    pubEnd = nowNs();
  }

  if (doSub) {
    // Wait for everything, or until nothing has arrived for `idle` seconds.
    const auto deadline = Clock::now() + std::chrono::duration<double>(a.timeout);
    const std::int64_t startWait = nowNs();
    while (sub.received.load() < a.count && Clock::now() < deadline) {
      const std::int64_t last = std::max(sub.lastRecvAtomic.load(), startWait);
      if (nowNs() - last > static_cast<std::int64_t>(a.idle * 1e9)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (doPub && !doSub && !a.progressFile.empty()) {
    // Do not disconnect with QoS 0 messages still queued in Paho: wait for the subscriber's count
    // (or until it stops moving for `idle` seconds).
    auto& done = progress.value();
    std::uint64_t last = done.load();
    auto moved = Clock::now();
    while (done.load() < static_cast<std::uint64_t>(a.count) &&
           Clock::now() - moved < std::chrono::duration<double>(a.idle)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (done.load() != last) {
        last = done.load();
        moved = Clock::now();
      }
    }
  }
  if (doPub) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 1000;
    MQTTAsync_disconnect(pubConn.client, &d);
  }
  if (doSub) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 100;
    MQTTAsync_disconnect(subConn.client, &d);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // let the callbacks end
  }
  std::printf("result role=%s qos=%d size=%d count=%ld", a.role.c_str(), a.qos, a.size, a.count);
  if (doPub) {
    const double s = static_cast<double>(pubEnd - pubStart) / 1e9;
    const long sent =
        (a.qos > 0 && a.rate <= 0) ? std::min<long>(pub.next.load(), a.count) : pub.sentPaced;
    std::printf(" sent=%ld pub_rate=%.0f pub_errors=%ld", sent, static_cast<double>(sent) / s,
                pub.errors.load());
  }
  if (doSub) {
    const long got = sub.received.load();
    const double s = got > 0 ? static_cast<double>(sub.lastRecv - sub.firstSend) / 1e9 : 0;
    std::printf(
        " received=%ld lost=%ld dup=%ld reordered=%ld bad=%ld rate=%.0f p50_us=%.0f "
        "p99_us=%.0f max_us=%.0f",
        got, a.count - got, sub.dups, sub.reorders, sub.bad,
        s > 0 ? static_cast<double>(got) / s : 0, percentile(sub.latUs, 0.50),
        percentile(sub.latUs, 0.99), percentile(sub.latUs, 1.0));
    // Steady state, without the publisher's start: first to last arrival.
    const double span = got > 1 ? static_cast<double>(sub.lastRecv - sub.firstRecv) / 1e9 : 0;
    std::printf(" recv_span_s=%.3f recv_rate=%.1f", span,
                span > 0 ? static_cast<double>(got - 1) / span : 0);
    const double tail =
        sub.halfRecv > 0 ? static_cast<double>(sub.lastRecv - sub.halfRecv) / 1e9 : 0;
    std::printf(" last_recv_ns=%lld", static_cast<long long>(sub.lastRecv));
    std::printf(" tail_rate=%.1f", tail > 0 ? static_cast<double>(got - a.count / 2) / tail : 0);
  }
  std::printf("\n");
  if (doSub) MQTTAsync_destroy(&subConn.client);
  if (doPub) MQTTAsync_destroy(&pubConn.client);
  return 0;
}

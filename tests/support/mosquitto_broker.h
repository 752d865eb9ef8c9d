#pragma once
// A real mosquitto broker for integration tests: its own temp dir (config, log, anything a test
// wants to put next to it, e.g. a bridge config YAML), free loopback ports, bounded start-up wait,
// and process control for fault injection (kill, stop, SIGSTOP/SIGCONT, restart on the same
// ports). Always `max_queued_messages 0` (with a limit, mosquitto drops QoS 1 messages queued for a
// slow client) and no persistence.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "tests/support/wait.h"

namespace mqb::test {

struct BrokerOptions {
  bool tcp = true;                  ///< plain MQTT listener
  bool tls = false;                 ///< MQTT over TLS listener (needs cafile/certfile/keyfile)
  bool websockets = false;          ///< ws:// listener
  bool secureWebsockets = false;    ///< wss:// listener (needs cafile/certfile/keyfile)
  bool requireCertificate = false;  ///< TLS listeners demand a client certificate (mutual TLS)
  bool allowAnonymous = true;
  /// Keep sessions and retained messages across stop()/start() (persistence file in dir()).
  bool persistence = false;
  std::string cafile, certfile, keyfile;  ///< for the TLS listeners (TestPki gives these)
  std::string passwordFile;  ///< mosquitto_passwd file; see MosquittoBroker::writePasswordFile
  std::string plugin;        ///< path of a v5 plugin .so (e.g. the test auth plugin)
  std::vector<std::pair<std::string, std::string>> pluginOptions;  ///< plugin_opt_<k> <v>
  std::vector<std::string> extraConfig;  ///< raw lines appended to mosquitto.conf
};

class MosquittoBroker {
 public:
  explicit MosquittoBroker(BrokerOptions options = {});
  /// Kills the broker if it runs; removes the temp dir.
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  /// Starts mosquitto and waits (bounded) until every listener accepts TCP connections. Ports are
  /// picked on the first start and kept across restarts. Returns false (log in lastLog()) if it
  /// did not come up in `timeout`.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// SIGTERM and wait for exit.
  void stop();
  /// SIGKILL and wait for exit.
  void kill();
  /// SIGSTOP / SIGCONT: the broker freezes (connections stay open but nothing is answered).
  void pause();
  void resume();
  /// stop() (or kill() if `hard`) then start() on the same ports.
  bool restart(bool hard = false);
  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

  int port() const noexcept { return tcpPort_; }
  int tlsPort() const noexcept { return tlsPort_; }
  int wsPort() const noexcept { return wsPort_; }
  int wssPort() const noexcept { return wssPort_; }
  /// tcp://127.0.0.1:<port> (for TestClient).
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(tcpPort_); }
  /// "127.0.0.1:<port>" of a listener ("tcp", "tls", "ws", "wss"), as a bridge config's
  /// `endpoint` field wants it.
  std::string endpoint(const std::string& listener = "tcp") const {
    return connection(listener).endpoint;
  }

  /// The broker's temp dir (mosquitto.conf, mosquitto.log; tests may add files).
  const TempDir& dir() const noexcept { return dir_; }
  std::string logText() const;

  /// A BrokerConnection pointing at one listener: "tcp", "tls", "ws" or "wss". host is
  /// 127.0.0.1 ("localhost" with `useHostname`), auth anonymous, TLS trusting `caFile` if given.
  config::BrokerConnection connection(const std::string& listener = "tcp",
                                      const std::string& caFile = "",
                                      bool useHostname = false) const;

  /// Client IDs that connected at least once (from the broker log's "New client connected ...
  /// as <id>" lines; `log_type all` and `connection_messages true` are always on).
  std::set<std::string> clientIdsSeen() const;
  /// Client IDs connected right now according to the log (connects minus disconnects).
  std::set<std::string> clientIdsConnected() const;

  /// Runs mosquitto_passwd to create <dir>/passwd with one user, configures it as the broker's
  /// password_file (takes effect at the next start), and returns its path.
  std::string writePasswordFile(const std::string& user, const std::string& password);

  /// The options; changes take effect at the next start()/restart().
  BrokerOptions& options() noexcept { return options_; }

 private:
  void writeConfig() const;
  bool waitListening(std::chrono::milliseconds timeout) const;
  void waitExit();

  BrokerOptions options_;
  TempDir dir_{"mqb-broker"};
  pid_t pid_ = -1;
  int tcpPort_ = 0, tlsPort_ = 0, wsPort_ = 0, wssPort_ = 0;
};

}  // namespace mqb::test

#pragma once

// A scripted MQTT v5 server on a loopback port, for byte patterns and timings mosquitto never
// produces (acknowledgements one write at a time, packets cut across writes, a peer that never
// answers).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mqtt/wire/codec.h"

namespace mqb::test {

/// A TCP socket listening on a free loopback port (for peers scripted by the test); -1 on error.
int listenOnLoopback(int& port);

/// Accepts one connection, answers CONNECT with a CONNACK (Receive Maximum 100), then hands the
/// socket to `script` on its own thread. recvPackets() reads until n packets of the client have
/// arrived.
class ScriptedBroker {
 public:
  explicit ScriptedBroker(std::function<void(ScriptedBroker&)> script);
  ~ScriptedBroker();
  ScriptedBroker(const ScriptedBroker&) = delete;
  ScriptedBroker& operator=(const ScriptedBroker&) = delete;

  int port() const { return port_; }
  /// Reads until `n` more packets arrived (5 s at most); returns their types and bodies.
  std::vector<std::pair<mqtt::wire::PacketType, std::string>> recvPackets(std::size_t n);
  /// One write(2) of `bytes` (a gtest failure if it does not all go).
  void send(const std::string& bytes);

  static std::string puback(std::uint16_t id);
  /// A v5 QoS 0 PUBLISH (no properties) of a short topic and payload (under 128 bytes in all).
  static std::string publishQos0(const std::string& topic, const std::string& payload);

 private:
  void serve();

  std::function<void(ScriptedBroker&)> script_;
  int lfd_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mqtt::wire::Decoder decoder_;
};

}  // namespace mqb::test

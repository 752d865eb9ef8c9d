#include "metrics/metrics.h"

#include <string>

namespace mqb::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;
using prometheus::Registry;

Family<Counter>& counter(Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
Family<Gauge>& gauge(Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

std::string str(std::string_view s) { return std::string(s); }

}  // namespace

const Histogram::BucketBoundaries& Metrics::latencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1,      2.5,     5,      10,    30};
  return kBuckets;
}

Metrics::Metrics(std::string_view version, std::string_view revision)
    : registry_(std::make_shared<Registry>()),
      received_(counter(*registry_, "mqbridge_messages_received_total",
                        "Messages received from the route's source broker.")),
      receivedBytes_(counter(*registry_, "mqbridge_received_bytes_total",
                             "Payload bytes received from the route's source broker.")),
      forwarded_(counter(*registry_, "mqbridge_messages_forwarded_total",
                         "Messages acknowledged by the target broker (QoS 0: handed to it).")),
      forwardedBytes_(counter(*registry_, "mqbridge_forwarded_bytes_total",
                              "Payload bytes acknowledged by the target broker.")),
      dropped_(counter(*registry_, "mqbridge_messages_dropped_total",
                       "Messages not forwarded, by reason.")),
      retried_(counter(*registry_, "mqbridge_messages_retried_total",
                       "Deliveries retried after a failure or reconnect.")),
      adjusted_(counter(*registry_, "mqbridge_messages_adjusted_total",
                        "Messages published with a lower QoS or without the retain flag because "
                        "the target broker's CONNACK asked for it, by adjustment.")),
      deadLettered_(counter(*registry_, "mqbridge_deadletter_messages_total",
                            "Messages set aside in the route's dead-letter store, by reason.")),
      inflight_(gauge(*registry_, "mqbridge_messages_inflight",
                      "Messages received and not yet acknowledged by the target or dropped.")),
      latency_(prometheus::BuildHistogram()
                   .Name("mqbridge_delivery_latency_seconds")
                   .Help("Time from receipt at the bridge to acknowledgement by the target.")
                   .Register(*registry_)),
      rateLimitWait_(counter(*registry_, "mqbridge_rate_limit_wait_seconds_total",
                             "Time messages spent waiting in the route's rate limiter.")),
      lastDelivery_(gauge(*registry_, "mqbridge_last_delivery_timestamp_seconds",
                          "Unix time of the last message acknowledged by the target.")),
      spoolMessages_(gauge(*registry_, "mqbridge_spool_messages",
                           "Messages held in the route's durable spool.")),
      spoolBytes_(
          gauge(*registry_, "mqbridge_spool_bytes", "Bytes held in the route's durable spool.")),
      spoolCapacity_(gauge(*registry_, "mqbridge_spool_capacity_bytes",
                           "Byte limit of the route's durable spool (0: unlimited).")),
      connected_(gauge(*registry_, "mqbridge_client_connected",
                       "1 while the MQTT client is connected to its broker, else 0.")),
      subscribed_(gauge(*registry_, "mqbridge_client_subscribed",
                        "1 while the subscriber's subscriptions are granted, else 0.")),
      connectAttempts_(counter(*registry_, "mqbridge_client_connect_attempts_total",
                               "Connection attempts of the MQTT client.")),
      connectFailures_(counter(*registry_, "mqbridge_client_connect_failures_total",
                               "Failed connection attempts and lost connections, by reason.")),
      reconnects_(counter(*registry_, "mqbridge_client_reconnects_total",
                          "Successful connections after the first one.")),
      reauthentications_(counter(*registry_, "mqbridge_reauthentications_total",
                                 "MQTT 5 re-authentications with a renewed token, by result.")),
      credentialReloads_(counter(*registry_, "mqbridge_credential_reloads_total",
                                 "Changed credential files found while connected, by result "
                                 "(applied by a graceful reconnect, or not applied).")),
      endpointIndex_(gauge(*registry_, "mqbridge_client_endpoint_index",
                           "Endpoint of the current (or last) connection: 0 = the broker's "
                           "endpoint, 1.. = its failover endpoints in order.")),
      buildInfo_(gauge(*registry_, "mqbridge_build_info",
                       "Always 1; the labels carry the version and revision.")),
      reloads_(counter(*registry_, "mqbridge_config_reloads_total",
                       "Configuration loads and reloads, by result.")),
      lastReloadSuccessful_(gauge(*registry_, "mqbridge_config_last_reload_successful",
                                  "1 if the last configuration (re)load succeeded, else 0.")),
      lastReloadSuccessTime_(gauge(*registry_,
                                   "mqbridge_config_last_reload_success_timestamp_seconds",
                                   "Unix time of the last successful configuration (re)load.")),
      generation_(gauge(*registry_, "mqbridge_config_generation",
                        "Number of successful configuration loads (1 after startup).")) {
  buildInfo_.Add({{"version", str(version)}, {"revision", str(revision)}}).Set(1);
  reloadsOk_ = &reloads_.Add({{"result", "success"}});
  reloadsFailed_ = &reloads_.Add({{"result", "failure"}});
  lastReloadOk_ = &lastReloadSuccessful_.Add({});
  lastReloadOkTime_ = &lastReloadSuccessTime_.Add({});
  generationValue_ = &generation_.Add({});
}

Metrics::~Metrics() = default;

RouteMetrics& Metrics::bindRoute(std::string_view connector, std::string_view route,
                                 std::string_view direction, std::string_view branch) {
  std::lock_guard<std::mutex> lock(mutex_);
  RouteKey key{str(connector), str(route), str(direction), str(branch)};
  if (auto it = routes_.find(key); it != routes_.end()) {
    return *it->second;
  }
  const Labels labels{{"connector", str(connector)},
                      {"route", str(route)},
                      {"direction", str(direction)},
                      {"branch", str(branch)}};
  auto m = std::make_unique<RouteMetrics>();
  m->received = &received_.Add(labels);
  m->receivedBytes = &receivedBytes_.Add(labels);
  m->forwarded = &forwarded_.Add(labels);
  m->forwardedBytes = &forwardedBytes_.Add(labels);
  m->retried = &retried_.Add(labels);
  for (std::size_t i = 0; i < m->dropped.size(); ++i) {
    Labels l = labels;
    l.emplace("reason", str(toString(static_cast<DropReason>(i))));
    m->dropped[i] = &dropped_.Add(l);
  }
  m->inflight = &inflight_.Add(labels);
  m->latency = &latency_.Add(labels, latencyBuckets());
  m->rateLimitWaitSeconds = &rateLimitWait_.Add(labels);
  m->lastDeliveryTimestamp = &lastDelivery_.Add(labels);
  for (std::size_t i = 0; i < m->adjusted.size(); ++i) {
    Labels l = labels;
    l.emplace("adjustment", str(toString(static_cast<Adjustment>(i))));
    m->adjusted[i] = &adjusted_.Add(l);
  }
  for (std::size_t i = 0; i < m->deadLettered.size(); ++i) {
    Labels l = labels;
    l.emplace("reason", str(toString(static_cast<DeadLetterReason>(i))));
    m->deadLettered[i] = &deadLettered_.Add(l);
  }

  SpoolKey skey{str(connector), str(route), str(direction)};
  auto& spool = spools_[skey];
  if (spool.messages == nullptr) {
    const Labels sl{
        {"connector", str(connector)}, {"route", str(route)}, {"direction", str(direction)}};
    spool.messages = &spoolMessages_.Add(sl);
    spool.bytes = &spoolBytes_.Add(sl);
    spool.capacity = &spoolCapacity_.Add(sl);
  }
  m->spoolMessages = spool.messages;
  m->spoolBytes = spool.bytes;
  m->spoolCapacityBytes = spool.capacity;
  auto& ref = *m;
  routes_.emplace(std::move(key), std::move(m));
  return ref;
}

ClientMetrics& Metrics::bindClient(std::string_view connector, std::string_view route,
                                   std::string_view direction, std::string_view side,
                                   std::string_view client, bool subscriber) {
  std::lock_guard<std::mutex> lock(mutex_);
  ClientKey key{str(connector), str(route), str(direction), str(side), str(client)};
  if (auto it = clients_.find(key); it != clients_.end()) {
    ClientEntry& e = *it->second;
    if (subscriber && !e.subscriber) {
      e.subscriber = true;
      e.m.subscribed = &subscribed_.Add({{"connector", e.connector},
                                         {"route", e.route},
                                         {"direction", e.direction},
                                         {"side", e.side},
                                         {"client", e.client}});
    }
    return e.m;
  }
  auto e = std::make_unique<ClientEntry>();
  e->connector = str(connector);
  e->route = str(route);
  e->direction = str(direction);
  e->side = str(side);
  e->client = str(client);
  e->subscriber = subscriber;
  const Labels labels{{"connector", e->connector},
                      {"route", e->route},
                      {"direction", e->direction},
                      {"side", e->side},
                      {"client", e->client}};
  ClientMetrics& m = e->m;
  m.connected = &connected_.Add(labels);
  m.subscribed = subscriber ? &subscribed_.Add(labels) : &e->unexported;
  m.connectAttempts = &connectAttempts_.Add(labels);
  m.reconnects = &reconnects_.Add(labels);
  m.endpointIndex = &endpointIndex_.Add(labels);
  m.lastFailure = &e->failure;
  m.connectFailures = &connectFailures_;
  m.connector = e->connector;
  m.route = e->route;
  m.direction = e->direction;
  m.side = e->side;
  m.client = e->client;
  for (std::size_t i = 0; i < m.failures.size(); ++i) {
    Labels l = labels;
    l.emplace("reason", str(toString(static_cast<ConnectFailure>(i))));
    m.failures[i] = &connectFailures_.Add(l);
  }
  constexpr std::array<std::string_view, 3> kReauth{"accepted", "refused", "no_token"};
  for (std::size_t i = 0; i < kReauth.size(); ++i) {
    Labels l = labels;
    l.emplace("result", str(kReauth[i]));
    m.reauthentications[i] = &reauthentications_.Add(l);
  }
  constexpr std::array<std::string_view, 2> kReload{"applied", "not_applied"};
  for (std::size_t i = 0; i < kReload.size(); ++i) {
    Labels l = labels;
    l.emplace("result", str(kReload[i]));
    m.credentialReloads[i] = &credentialReloads_.Add(l);
  }
  clients_.emplace(std::move(key), std::move(e));
  return m;
}

void Metrics::unbindRoute(std::string_view connector, std::string_view route) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (std::get<0>(it->first) != connector || std::get<1>(it->first) != route) {
      ++it;
      continue;
    }
    RouteMetrics& m = *it->second;
    received_.Remove(m.received);
    receivedBytes_.Remove(m.receivedBytes);
    forwarded_.Remove(m.forwarded);
    forwardedBytes_.Remove(m.forwardedBytes);
    retried_.Remove(m.retried);
    for (auto* c : m.adjusted) {
      adjusted_.Remove(c);
    }
    for (auto* c : m.deadLettered) {
      deadLettered_.Remove(c);
    }
    for (auto* c : m.dropped) {
      dropped_.Remove(c);
    }
    inflight_.Remove(m.inflight);
    latency_.Remove(m.latency);
    rateLimitWait_.Remove(m.rateLimitWaitSeconds);
    lastDelivery_.Remove(m.lastDeliveryTimestamp);
    it = routes_.erase(it);
  }
  for (auto it = spools_.begin(); it != spools_.end();) {
    if (std::get<0>(it->first) != connector || std::get<1>(it->first) != route) {
      ++it;
      continue;
    }
    spoolMessages_.Remove(it->second.messages);
    spoolBytes_.Remove(it->second.bytes);
    spoolCapacity_.Remove(it->second.capacity);
    it = spools_.erase(it);
  }
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (std::get<0>(it->first) != connector || std::get<1>(it->first) != route) {
      ++it;
      continue;
    }
    ClientMetrics& m = it->second->m;
    connected_.Remove(m.connected);
    if (it->second->subscriber) {
      subscribed_.Remove(m.subscribed);
    }
    connectAttempts_.Remove(m.connectAttempts);
    reconnects_.Remove(m.reconnects);
    endpointIndex_.Remove(m.endpointIndex);
    for (auto* c : m.failures) {
      connectFailures_.Remove(c);
    }
    for (auto* c : m.reauthentications) {
      reauthentications_.Remove(c);
    }
    for (auto* c : m.credentialReloads) {
      credentialReloads_.Remove(c);
    }
    it = clients_.erase(it);
  }
}

void Metrics::recordReload(bool success, std::chrono::system_clock::time_point at) {
  if (success) {
    reloadsOk_->Increment();
    lastReloadOk_->Set(1);
    lastReloadOkTime_->Set(std::chrono::duration<double>(at.time_since_epoch()).count());
    generationValue_->Increment();
  } else {
    reloadsFailed_->Increment();
    lastReloadOk_->Set(0);
  }
}

Readiness Metrics::readiness(bool allowEmpty) const {
  Readiness r;
  std::lock_guard<std::mutex> lock(mutex_);
  if (clients_.empty() && !allowEmpty) {
    r.notReady.emplace_back("no route is running yet");
    return r;
  }
  for (const auto& [key, e] : clients_) {
    const bool connected = e->m.connected->Value() >= 1;
    const bool subscribed = !e->subscriber || e->m.subscribed->Value() >= 1;
    if (connected && subscribed) {
      continue;
    }
    std::string line = "client connector=" + e->connector + " route=" + e->route +
                       " direction=" + e->direction + " side=" + e->side + " client=" + e->client;
    line += connected ? " not subscribed" : " not connected";
    r.notReady.push_back(std::move(line));
  }
  return r;
}

std::vector<SideConnectivity> Metrics::connectivity() const {
  std::map<std::pair<std::string, std::string>, SideConnectivity> sides;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, e] : clients_) {
    SideConnectivity& s = sides[{e->connector, e->side}];
    s.connector = e->connector;
    s.side = e->side;
    ++s.clients;
    if (e->m.connected->Value() >= 1) {
      ++s.connected;
    } else if (std::string why = e->failure.get(); !why.empty()) {
      s.failure = std::move(why);
    }
  }
  std::vector<SideConnectivity> out;
  for (auto& [key, s] : sides) {
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace mqb::metrics

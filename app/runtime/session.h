#pragma once
// Persistent sessions outlive routes: a subscriber's session at the source broker keeps its
// subscriptions after the client disconnects, and the next client with that client ID inherits
// them. When a route's source filter (or share group) changes, or the route is removed, the old
// subscription must be dropped explicitly, or the rebuilt route keeps receiving the old filter's
// messages (found by tests/integration/kube). A client that only moves to another instance keeps
// its subscription: its new owner resumes the session, queued messages included.

#include <chrono>
#include <map>
#include <string>

#include "config/plan.h"
#include "sources/mqtt/mqtt_source.h"

namespace mqb::app {

/// Client ID -> subscription of every client of `plan` (all instances).
std::map<std::string, std::string> planSubscriptions(const config::Plan& plan);

/// Sends UNSUBSCRIBE for the source's subscription and waits for the UNSUBACK (bounded). False
/// if the client is not connected, or the broker refused, or `timeout` passed. Must not be
/// called from the client's own I/O thread (a message callback): that thread delivers the UNSUBACK.
bool unsubscribeSource(sources::MqttSource& source, std::chrono::milliseconds timeout);

/// Drops the subscription of `source` from its session if `next` (planSubscriptions of the new
/// configuration) no longer has that client with that subscription. Logs what it did.
void dropStaleSubscription(sources::MqttSource& source,
                           const std::map<std::string, std::string>& next);

}  // namespace mqb::app

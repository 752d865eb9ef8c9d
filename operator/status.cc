#include "operator/status.h"

namespace mqb::op {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    s.append(s.empty() ? "" : ", ").append(x);
  }
  return s;
}

Condition degraded(const ConnectorObservation& o) {
  if (!o.connectorError.empty()) {
    return {"Degraded", true, "InvalidConnector", o.connectorError};
  }
  if (!o.applyError.empty()) {
    return {"Degraded", true, "ApplyFailed", o.applyError};
  }
  if (!o.podProblem.empty()) {
    return {"Degraded", true, "InstanceFailing", o.podProblem};
  }
  if (!o.remoteProblem.empty()) {
    return {"Degraded", true, "RemoteUnreachable", o.remoteProblem};
  }
  if (!o.localProblem.empty()) {
    return {"Degraded", true, "LocalUnreachable", o.localProblem};
  }
  if (!o.invalidTopicMaps.empty()) {
    return {"Degraded", true, "InvalidTopicMap",
            "left out (see their status): " + joined(o.invalidTopicMaps)};
  }
  return {"Degraded", false, "AsExpected", "no problem found"};
}

Condition progressing(const ConnectorObservation& o) {
  if (!o.connectorError.empty()) {
    return {"Progressing", false, "InvalidConnector", "nothing to roll out"};
  }
  if (!o.drainNote.empty()) {
    return {"Progressing", true, "Draining", o.drainNote};
  }
  if (o.replicas != o.wanted) {
    return {"Progressing", true, "Scaling",
            "scaling from " + std::to_string(o.replicas) + " to " + std::to_string(o.wanted) +
                " instances"};
  }
  if (!o.rolledOut || o.updated < o.wanted || o.ready < o.wanted) {
    return {"Progressing", true, "RollingOut",
            std::to_string(o.updated) + " of " + std::to_string(o.wanted) + " instances updated, " +
                std::to_string(o.ready) + " ready"};
  }
  return {"Progressing", false, "Complete", "every instance runs the current spec"};
}

Condition ready(const ConnectorObservation& o, const std::string& readyText) {
  if (!o.connectorError.empty()) {
    return {"Ready", false, "InvalidConnector", o.connectorError};
  }
  if (o.ready < o.wanted || o.wanted == 0) {
    // Instances are ready when every client is connected: say which broker they cannot reach.
    if (!o.remoteProblem.empty()) {
      return {"Ready", false, "RemoteUnreachable",
              readyText + " instances ready; " + o.remoteProblem};
    }
    if (!o.localProblem.empty()) {
      return {"Ready", false, "LocalUnreachable",
              readyText + " instances ready; " + o.localProblem};
    }
    return {"Ready", false, "InstancesNotReady", readyText + " instances ready"};
  }
  return {"Ready", true, "InstancesReady",
          readyText + " instances ready, " + std::to_string(o.routes) + " routes"};
}

}  // namespace

Json conditionsJson(const std::vector<Condition>& conditions, const Json& previous,
                    std::int64_t generation, const std::string& now) {
  Json out = Json::array();
  for (const auto& c : conditions) {
    const std::string status = c.status ? "True" : "False";
    std::string since = now;
    if (previous.is_array()) {
      for (const auto& p : previous) {
        if (p.value("type", "") == c.type && p.value("status", "") == status) {
          since = p.value("lastTransitionTime", now);
        }
      }
    }
    out.push_back({{"type", c.type},
                   {"status", status},
                   {"reason", c.reason},
                   {"message", c.message.substr(0, 2000)},
                   {"observedGeneration", generation},
                   {"lastTransitionTime", since}});
  }
  return out;
}

Json connectorStatus(const ConnectorObservation& o, const Json& previous, const std::string& now) {
  const std::string readyText = std::to_string(o.ready) + "/" + std::to_string(o.wanted);
  const std::vector<Condition> conditions = {ready(o, readyText), progressing(o), degraded(o)};
  const Json prev = previous.is_object() ? previous.value("conditions", Json()) : Json();
  return {{"observedGeneration", o.generation},
          {"instances", o.wanted},
          {"readyInstances", o.ready},
          {"ready", readyText},
          {"routes", o.routes},
          {"conditions", conditionsJson(conditions, prev, o.generation, now)}};
}

Json topicMapStatus(std::int64_t generation, int routes, const std::vector<std::string>& messages,
                    const Json& previous, const std::string& now) {
  const bool accepted = messages.empty();
  const Condition c =
      accepted ? Condition{"Accepted", true, "Valid", std::to_string(routes) + " routes accepted"}
               : Condition{"Accepted", false, "Invalid", joined(messages)};
  const Json prev = previous.is_object() ? previous.value("conditions", Json()) : Json();
  Json s = {{"observedGeneration", generation},
            {"accepted", accepted},
            {"routes", accepted ? routes : 0},
            {"messages", messages},
            {"conditions", conditionsJson({c}, prev, generation, now)}};
  return s;
}

}  // namespace mqb::op

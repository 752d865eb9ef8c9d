#include "tests/support/test_client.h"

#include <cstring>
#include <memory>

#include "mqtt/client.h"

namespace mqb::test {
namespace {

// The test client is Paho (an MQTT implementation independent of the bridge's own client), so it
// converts the pipeline's v5 properties to and from Paho's form itself.

void addData(MQTTProperties& props, enum MQTTPropertyCodes id, const std::string& v) {
  MQTTProperty p;
  std::memset(&p, 0, sizeof p);
  p.identifier = id;
  p.value.data.data = const_cast<char*>(v.data());
  p.value.data.len = static_cast<int>(v.size());
  MQTTProperties_add(&props, &p);
}

MQTTProperties toPaho(const pipeline::Properties& props) {
  MQTTProperties out = MQTTProperties_initializer;
  for (const auto& u : props.user) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
    p.value.data.data = const_cast<char*>(u.key.data());
    p.value.data.len = static_cast<int>(u.key.size());
    p.value.value.data = const_cast<char*>(u.value.data());
    p.value.value.len = static_cast<int>(u.value.size());
    MQTTProperties_add(&out, &p);
  }
  if (props.contentType) {
    addData(out, MQTTPROPERTY_CODE_CONTENT_TYPE, *props.contentType);
  }
  if (props.payloadFormat) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_PAYLOAD_FORMAT_INDICATOR;
    p.value.byte = *props.payloadFormat;
    MQTTProperties_add(&out, &p);
  }
  if (props.messageExpirySeconds) {
    MQTTProperty p;
    std::memset(&p, 0, sizeof p);
    p.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
    p.value.integer4 = *props.messageExpirySeconds;
    MQTTProperties_add(&out, &p);
  }
  if (props.responseTopic) {
    addData(out, MQTTPROPERTY_CODE_RESPONSE_TOPIC, *props.responseTopic);
  }
  if (props.correlationData) {
    addData(out, MQTTPROPERTY_CODE_CORRELATION_DATA, *props.correlationData);
  }
  return out;
}

pipeline::Properties fromPaho(const MQTTProperties& props) {
  pipeline::Properties out;
  for (int i = 0; i < props.count; ++i) {
    const MQTTProperty& p = props.array[i];
    auto str = [](const MQTTLenString& s) { return std::string(s.data, s.len > 0 ? s.len : 0); };
    switch (p.identifier) {
      case MQTTPROPERTY_CODE_USER_PROPERTY:
        out.user.push_back({str(p.value.data), str(p.value.value)});
        break;
      case MQTTPROPERTY_CODE_CONTENT_TYPE:
        out.contentType = str(p.value.data);
        break;
      case MQTTPROPERTY_CODE_PAYLOAD_FORMAT_INDICATOR:
        out.payloadFormat = p.value.byte;
        break;
      case MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL:
        out.messageExpirySeconds = p.value.integer4;
        break;
      case MQTTPROPERTY_CODE_RESPONSE_TOPIC:
        out.responseTopic = str(p.value.data);
        break;
      case MQTTPROPERTY_CODE_CORRELATION_DATA:
        out.correlationData = str(p.value.data);
        break;
      default:  // subscription identifier, topic alias: per hop, never forwarded
        break;
    }
  }
  return out;
}

}  // namespace

struct TestClient::Op {
  explicit Op(TestClient* s) : self(s) {}
  TestClient* self;
  int state = 0;  // 0 pending, 1 ok, -1 failed
  std::string error;
};

TestClient::TestClient(TestClientOptions options) : options_(std::move(options)) {
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
  if (!options_.v5) {
    co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = MQTTVERSION_3_1_1;
  }
  co.maxBufferedMessages = 100000;
  MQTTAsync_createWithOptions(&handle_, options_.uri.c_str(), options_.clientId.c_str(),
                              MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
  MQTTAsync_setCallbacks(handle_, this, &TestClient::onLost, &TestClient::onMessage, nullptr);
}

TestClient::~TestClient() {
  disconnect();
  MQTTAsync_destroy(&handle_);
}

void TestClient::onLost(void* /*ctx*/, char* cause) {
  if (cause != nullptr) {
    MQTTAsync_free(cause);
  }
}

bool TestClient::connect(std::chrono::milliseconds timeout) {
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  MQTTProperties props = MQTTProperties_initializer;
  const bool ws = options_.uri.rfind("ws", 0) == 0;
  if (options_.v5) {
    MQTTAsync_connectOptions v = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions w = MQTTAsync_connectOptions_initializer5_ws;
    o = ws ? w : v;
    o.cleanstart = options_.cleanStart ? 1 : 0;
    if (!options_.cleanStart) {
      MQTTProperty e;
      std::memset(&e, 0, sizeof e);
      e.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
      e.value.integer4 = 3600;  // a persistent session outlives the connection
      MQTTProperties_add(&props, &e);
    }
    o.onSuccess5 = &TestClient::onConnect5;
    o.onFailure5 = &TestClient::onConnectFail5;
    if (!options_.authMethod.empty()) {
      MQTTProperty p;
      std::memset(&p, 0, sizeof p);
      p.identifier = MQTTPROPERTY_CODE_AUTHENTICATION_METHOD;
      p.value.data.data = options_.authMethod.data();
      p.value.data.len = static_cast<int>(options_.authMethod.size());
      MQTTProperties_add(&props, &p);
      p.identifier = MQTTPROPERTY_CODE_AUTHENTICATION_DATA;
      p.value.data.data = options_.authData.data();
      p.value.data.len = static_cast<int>(options_.authData.size());
      MQTTProperties_add(&props, &p);
    }
    o.connectProperties = &props;
  } else {
    if (ws) {
      MQTTAsync_connectOptions w = MQTTAsync_connectOptions_initializer_ws;
      o = w;
    }
    o.MQTTVersion = MQTTVERSION_3_1_1;
    o.cleansession = options_.cleanStart ? 1 : 0;
    o.onSuccess = &TestClient::onConnect3;
    o.onFailure = &TestClient::onConnectFail3;
  }
  o.context = this;
  o.connectTimeout = static_cast<int>(std::max<long long>(1, timeout.count() / 1000));
  if (!options_.username.empty()) {
    o.username = options_.username.c_str();
    o.password = options_.password.c_str();
  }
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (options_.uri.rfind("ssl", 0) == 0 || options_.uri.rfind("wss", 0) == 0) {
    ssl.verify = 1;
    ssl.enableServerCertAuth = options_.caFile.empty() ? 0 : 1;
    ssl.trustStore = options_.caFile.empty() ? nullptr : options_.caFile.c_str();
    ssl.keyStore = options_.certFile.empty() ? nullptr : options_.certFile.c_str();
    ssl.privateKey = options_.keyFile.empty() ? nullptr : options_.keyFile.c_str();
    o.ssl = &ssl;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    connectState_ = 0;
  }
  const int rc = MQTTAsync_connect(handle_, &o);
  MQTTProperties_free(&props);
  if (rc != MQTTASYNC_SUCCESS) {
    std::lock_guard<std::mutex> lk(mu_);
    lastError_ = MQTTAsync_strerror(rc);
    return false;
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, timeout, [this] { return connectState_ != 0; });
  if (connectState_ == 0) {
    lastError_ = "connect timeout";
  }
  return connectState_ == 1;
}

void TestClient::onConnect5(void* ctx, MQTTAsync_successData5* /*r*/) {
  auto* self = static_cast<TestClient*>(ctx);
  std::lock_guard<std::mutex> lk(self->mu_);
  self->connectState_ = 1;
  self->cv_.notify_all();
}
void TestClient::onConnectFail5(void* ctx, MQTTAsync_failureData5* r) {
  auto* self = static_cast<TestClient*>(ctx);
  std::lock_guard<std::mutex> lk(self->mu_);
  self->connectState_ = -1;
  self->lastError_ = r ? mqtt::wire::reasonName(r->reasonCode) + " " +
                             (r->message ? r->message : "") + " code=" + std::to_string(r->code)
                       : "connect failed";
  self->cv_.notify_all();
}
void TestClient::onConnect3(void* ctx, MQTTAsync_successData* /*r*/) { onConnect5(ctx, nullptr); }
void TestClient::onConnectFail3(void* ctx, MQTTAsync_failureData* r) {
  auto* self = static_cast<TestClient*>(ctx);
  std::lock_guard<std::mutex> lk(self->mu_);
  self->connectState_ = -1;
  self->lastError_ = "connect failed code=" + std::to_string(r ? r->code : 0);
  self->cv_.notify_all();
}

void TestClient::disconnect() {
  if (handle_ != nullptr && MQTTAsync_isConnected(handle_)) {
    Op op(this);
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    if (options_.v5) {
      MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
      d = d5;
      d.onSuccess5 = &TestClient::onOk5;
      d.onFailure5 = &TestClient::onFail5;
    } else {
      d.onSuccess = &TestClient::onOk3;
      d.onFailure = &TestClient::onFail3;
    }
    d.context = &op;
    d.timeout = 1000;
    if (MQTTAsync_disconnect(handle_, &d) == MQTTASYNC_SUCCESS) {
      waitOp(op, std::chrono::seconds(2));
    }
  }
}

void TestClient::onOk5(void* ctx, MQTTAsync_successData5* r) {
  auto* op = static_cast<Op*>(ctx);
  std::lock_guard<std::mutex> lk(op->self->mu_);
  if (r != nullptr && r->reasonCode >= 0x80) {
    op->state = -1;
    op->error = mqtt::wire::reasonName(r->reasonCode);
  } else {
    op->state = 1;
  }
  op->self->cv_.notify_all();
}
void TestClient::onFail5(void* ctx, MQTTAsync_failureData5* r) {
  auto* op = static_cast<Op*>(ctx);
  std::lock_guard<std::mutex> lk(op->self->mu_);
  op->state = -1;
  op->error = r ? mqtt::wire::reasonName(r->reasonCode) : "failed";
  op->self->cv_.notify_all();
}
void TestClient::onOk3(void* ctx, MQTTAsync_successData* r) {
  auto* op = static_cast<Op*>(ctx);
  std::lock_guard<std::mutex> lk(op->self->mu_);
  op->state = (r != nullptr && r->alt.qos == 0x80) ? -1 : 1;
  op->self->cv_.notify_all();
}
void TestClient::onFail3(void* ctx, MQTTAsync_failureData* /*r*/) {
  auto* op = static_cast<Op*>(ctx);
  std::lock_guard<std::mutex> lk(op->self->mu_);
  op->state = -1;
  op->error = "failed";
  op->self->cv_.notify_all();
}

MQTTAsync_responseOptions TestClient::responseFor(Op& op) {
  MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
  r.context = &op;
  if (options_.v5) {
    r.onSuccess5 = &TestClient::onOk5;
    r.onFailure5 = &TestClient::onFail5;
  } else {
    r.onSuccess = &TestClient::onOk3;
    r.onFailure = &TestClient::onFail3;
  }
  return r;
}

bool TestClient::waitOp(Op& op, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  // The op lives on our stack: wait for its callback even past the timeout (Paho fails it when
  // the connection goes), but report a timeout.
  const bool done = cv_.wait_for(lk, timeout, [&] { return op.state != 0; });
  if (!done) {
    lastError_ = "operation timeout";
    cv_.wait_for(lk, std::chrono::seconds(30), [&] { return op.state != 0; });
    return false;
  }
  if (op.state < 0) {
    lastError_ = op.error;
  }
  return op.state == 1;
}

bool TestClient::subscribe(const std::string& filter, int qos, std::chrono::milliseconds timeout) {
  Op op(this);
  MQTTAsync_responseOptions r = responseFor(op);
  if (options_.v5) {
    r.subscribeOptions.retainAsPublished = 1;
  }
  if (MQTTAsync_subscribe(handle_, filter.c_str(), qos, &r) != MQTTASYNC_SUCCESS) {
    return false;
  }
  return waitOp(op, timeout);
}

bool TestClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                         const pipeline::Properties& props, std::chrono::milliseconds timeout) {
  Op op(this);
  MQTTAsync_responseOptions r = responseFor(op);
  MQTTAsync_message m = MQTTAsync_message_initializer;
  std::string copy = payload;
  m.payload = copy.empty() ? nullptr : copy.data();
  m.payloadlen = static_cast<int>(copy.size());
  m.qos = qos;
  m.retained = retain ? 1 : 0;
  if (options_.v5) {
    m.properties = toPaho(props);
  }
  const int rc = MQTTAsync_sendMessage(handle_, topic.c_str(), &m, &r);
  if (options_.v5) {
    MQTTProperties_free(&m.properties);
  }
  if (rc != MQTTASYNC_SUCCESS) {
    std::lock_guard<std::mutex> lk(mu_);
    lastError_ = MQTTAsync_strerror(rc);
    return false;
  }
  return waitOp(op, timeout);
}

bool TestClient::publishMany(const std::string& topic, int count, const std::string& prefix,
                             int qos, std::chrono::milliseconds timeout, int first) {
  // Windowed: at most 50 outstanding (Paho refills its own window only once a second).
  const int window = 50;
  std::vector<std::unique_ptr<Op>> ops;
  for (int i = 0; i < count; ++i) {
    if (ops.size() >= static_cast<std::size_t>(window)) {
      if (!waitOp(*ops.front(), timeout)) {
        return false;
      }
      ops.erase(ops.begin());
    }
    auto op = std::make_unique<Op>(this);
    MQTTAsync_responseOptions r = responseFor(*op);
    MQTTAsync_message m = MQTTAsync_message_initializer;
    std::string payload = prefix + std::to_string(first + i);
    m.payload = payload.data();
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = qos;
    if (MQTTAsync_sendMessage(handle_, topic.c_str(), &m, &r) != MQTTASYNC_SUCCESS) {
      for (auto& o : ops) {
        waitOp(*o, timeout);
      }
      return false;
    }
    ops.push_back(std::move(op));
  }
  bool ok = true;
  for (auto& o : ops) {
    ok = waitOp(*o, timeout) && ok;
  }
  return ok;
}

int TestClient::onMessage(void* ctx, char* topic, int topicLen, MQTTAsync_message* m) {
  auto* self = static_cast<TestClient*>(ctx);
  ReceivedMessage r;
  r.topic.assign(topic, topicLen > 0 ? static_cast<std::size_t>(topicLen) : std::strlen(topic));
  if (m->payloadlen > 0) {
    r.payload.assign(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen));
  }
  r.qos = m->qos;
  r.retain = m->retained != 0;
  if (self->options_.v5) {
    r.props = fromPaho(m->properties);
  }
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    self->received_.push_back(std::move(r));
  }
  self->cv_.notify_all();
  return 1;
}

bool TestClient::waitForCount(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return received_.size() >= count; });
}

std::vector<ReceivedMessage> TestClient::received() const {
  std::lock_guard<std::mutex> lk(mu_);
  return received_;
}

std::size_t TestClient::receivedCount() const {
  std::lock_guard<std::mutex> lk(mu_);
  return received_.size();
}

void TestClient::clearReceived() {
  std::lock_guard<std::mutex> lk(mu_);
  received_.clear();
}

std::string TestClient::lastError() const {
  std::lock_guard<std::mutex> lk(mu_);
  return lastError_;
}

}  // namespace mqb::test

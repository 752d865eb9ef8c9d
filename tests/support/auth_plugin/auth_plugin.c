/* Test-only mosquitto v5 plugin: MQTT v5 enhanced authentication for the methods K8S-SAT and
 * OAUTH2-JWT.
 *
 * Options:
 *   plugin_opt_token <secret>     the accepted token is <secret> (valid for ever) or
 *                                 <secret>.<unix time> (valid until then: a short-lived token)
 *   plugin_opt_reauth refuse      refuse every re-authentication (default: judge it like a
 *                                 connection's token)
 * A connection or re-authentication with a valid token is accepted in one step; any other is
 * refused (CONNACK "not authorized"; mosquitto answers a refused re-authentication the same way).
 * Once a second, clients whose token has expired are disconnected, as a broker that enforces token
 * lifetimes does. Every decision is logged with the method and client id (never the token), so
 * tests can read the broker log. */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 64

static mosquitto_plugin_id_t* plugin_id = NULL;
static char* expected_token = NULL;
static bool refuse_reauth = false;

/* Clients that authenticated, with the expiry of their token (0: none). */
static struct {
  const struct mosquitto* client;
  char id[128];
  time_t expires;
} clients[MAX_CLIENTS];

static int find_client(const struct mosquitto* c) {
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i].client == c) {
      return i;
    }
  }
  return -1;
}

static void remember(const struct mosquitto* c, time_t expires) {
  int i = find_client(c);
  if (i < 0) {
    i = find_client(NULL);
  }
  if (i < 0) {
    return;
  }
  const char* id = mosquitto_client_id(c);
  clients[i].client = c;
  clients[i].expires = expires;
  strncpy(clients[i].id, id ? id : "", sizeof clients[i].id - 1);
  clients[i].id[sizeof clients[i].id - 1] = '\0';
}

/* True if `data` is the secret, or the secret + "." + a unix time still in the future (then
 * *expires is that time). */
static bool token_valid(const void* data, uint16_t len, time_t* expires) {
  *expires = 0;
  if (expected_token == NULL || data == NULL) {
    return false;
  }
  const size_t n = strlen(expected_token);
  if (len < n || memcmp(data, expected_token, n) != 0) {
    return false;
  }
  if (len == n) {
    return true;
  }
  const char* rest = (const char*)data + n;
  if (rest[0] != '.' || len - n > 21) {
    return false;
  }
  char digits[24] = {0};
  memcpy(digits, rest + 1, len - n - 1);
  char* end = NULL;
  const long long t = strtoll(digits, &end, 10);
  if (end == digits || *end != '\0') {
    return false;
  }
  *expires = (time_t)t;
  return *expires > time(NULL);
}

static int on_auth_start(int event, void* event_data, void* userdata) {
  struct mosquitto_evt_extended_auth* ed = event_data;
  (void)event;
  (void)userdata;
  const char* id = mosquitto_client_id(ed->client);
  if (ed->auth_method == NULL ||
      (strcmp(ed->auth_method, "K8S-SAT") != 0 && strcmp(ed->auth_method, "OAUTH2-JWT") != 0)) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: unsupported method for %s",
                         id ? id : "?");
    return MOSQ_ERR_NOT_SUPPORTED;
  }
  const bool reauth = find_client(ed->client) >= 0;
  const char* what = reauth ? "re-authentication " : "";
  time_t expires = 0;
  if ((!reauth || !refuse_reauth) && token_valid(ed->data_in, ed->data_in_len, &expires)) {
    remember(ed->client, expires);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: accepted %s%s for %s", what,
                         ed->auth_method, id ? id : "?");
    return MOSQ_ERR_SUCCESS;
  }
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: refused %s%s for %s", what,
                       ed->auth_method, id ? id : "?");
  return MOSQ_ERR_AUTH;
}

static int on_disconnect(int event, void* event_data, void* userdata) {
  struct mosquitto_evt_disconnect* ed = event_data;
  (void)event;
  (void)userdata;
  const int i = find_client(ed->client);
  if (i >= 0) {
    clients[i].client = NULL;
  }
  return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void* event_data, void* userdata) {
  (void)event;
  (void)event_data;
  (void)userdata;
  const time_t now = time(NULL);
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i].client != NULL && clients[i].expires != 0 && clients[i].expires <= now) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: token expired for %s",
                           clients[i].id);
      clients[i].expires = 0;
      mosquitto_kick_client_by_clientid(clients[i].id, false);
    }
  }
  return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
  for (int i = 0; i < supported_version_count; i++) {
    if (supported_versions[i] == 5) {
      return 5;
    }
  }
  return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                          struct mosquitto_opt* opts, int opt_count) {
  (void)user_data;
  plugin_id = identifier;
  for (int i = 0; i < opt_count; i++) {
    if (strcmp(opts[i].key, "token") == 0) {
      free(expected_token);
      expected_token = strdup(opts[i].value);
    } else if (strcmp(opts[i].key, "reauth") == 0) {
      refuse_reauth = strcmp(opts[i].value, "refuse") == 0;
    }
  }
  int rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_EXT_AUTH_START, on_auth_start, NULL,
                                       NULL);
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL, NULL);
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_TICK, on_tick, NULL, NULL);
  }
  return rc;
}

int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt* opts, int opt_count) {
  (void)user_data;
  (void)opts;
  (void)opt_count;
  mosquitto_callback_unregister(plugin_id, MOSQ_EVT_EXT_AUTH_START, on_auth_start, NULL);
  mosquitto_callback_unregister(plugin_id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
  mosquitto_callback_unregister(plugin_id, MOSQ_EVT_TICK, on_tick, NULL);
  free(expected_token);
  expected_token = NULL;
  return MOSQ_ERR_SUCCESS;
}

/* Test-only mosquitto v5 plugin: MQTT v5 enhanced authentication for the methods K8S-SAT and
 * OAUTH2-JWT, accepting exactly one token given as `plugin_opt_token <token>`. A connection with
 * that token as authentication data is accepted in one step; any other token is refused
 * (CONNACK "not authorized"); other methods are not supported. Every decision is logged with the
 * method (never the token), so tests can read the broker log. */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <stdlib.h>
#include <string.h>

static mosquitto_plugin_id_t* plugin_id = NULL;
static char* expected_token = NULL;

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
  if (expected_token != NULL && ed->data_in != NULL &&
      ed->data_in_len == strlen(expected_token) &&
      memcmp(ed->data_in, expected_token, ed->data_in_len) == 0) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: accepted %s for %s", ed->auth_method,
                         id ? id : "?");
    return MOSQ_ERR_SUCCESS;
  }
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "mqb-test-auth: refused %s for %s", ed->auth_method,
                       id ? id : "?");
  return MOSQ_ERR_AUTH;
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
    }
  }
  return mosquitto_callback_register(plugin_id, MOSQ_EVT_EXT_AUTH_START, on_auth_start, NULL,
                                     NULL);
}

int mosquitto_plugin_cleanup(void* user_data, struct mosquitto_opt* opts, int opt_count) {
  (void)user_data;
  (void)opts;
  (void)opt_count;
  mosquitto_callback_unregister(plugin_id, MOSQ_EVT_EXT_AUTH_START, on_auth_start, NULL);
  free(expected_token);
  expected_token = NULL;
  return MOSQ_ERR_SUCCESS;
}

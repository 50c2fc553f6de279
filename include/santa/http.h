/*
 * lib/http: HTTP POSTs on an sd_event loop through libcurl's multi
 * interface, for the helpers that talk to servers (sync, metrics): a slow
 * server never stops a helper from answering its IPC clients.
 */
#ifndef SANTA_HTTP_H
#define SANTA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "santa/config.h"
#include "santa/types.h"

#define HTTP_MAX_RESPONSE_BYTES (64u * 1024 * 1024)

struct http_settings {
	const char *user_agent;
	enum santa_content_encoding encoding; /* of request bodies */
	const struct santa_dict *extra_headers;
	const char *ca_file, *proxy;
	/* From santad at each sync (the key stays root-only on disk). */
	void *cert, *key;
	size_t cert_len, key_len;
	bool cert_is_p12;
	char *key_password;
	/*
	 * Plain http to a host other than this machine (SyncAllowInsecureHTTP):
	 * without it only https is spoken, and http only to a loopback address
	 * (127.0.0.0/8, ::1, localhost), where nothing leaves the machine.
	 */
	bool allow_insecure_http;
};

/* Whether url's scheme is http (not https): status shows such a sync as insecure. */
bool http_url_is_plain(const char *url);

/* Replaces the client credentials (NULL data: none); wipes the old ones. */
void http_settings_set_credentials(struct http_settings *s, const void *cert, size_t cert_len,
				   const void *key, size_t key_len, const char *password);

struct http_response {
	CURLcode curl_code;
	long status;
	char *body; /* NUL-terminated; owned by the http layer */
	size_t len, cap;
	char xsrf_token[512];
	char xsrf_header[128];
	char error[256];
};

typedef void (*http_done_fn)(const struct http_response *resp, void *userdata);

struct http;
int http_new(sd_event *event, const struct http_settings *settings, struct http **out);
void http_free(struct http *h);
/* POSTs body (compressed per settings); done runs once, on the loop. */
int http_post(struct http *h, const char *url, const char *body, size_t len, long timeout_s,
	      const char *xsrf_header, const char *xsrf_token, http_done_fn done, void *userdata);

#endif

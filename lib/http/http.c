/* HTTP POSTs driven by an sd_event loop through libcurl's multi interface. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "santa/http.h"
#include "santa/sync.h"

struct http {
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer;
	const struct http_settings *settings;
	struct http_request *requests; /* in flight, freed with the http at shutdown */
};

struct http_request {
	struct http_request *next;
	struct http *http;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	size_t body_len;
	struct http_response resp;
	bool too_big;
	bool plain_refused; /* plain http to another host, not allowed: curl speaks https only */
	http_done_fn done;
	void *userdata;
};

static void
request_free(struct http_request *req)
{
	struct http_request **pp;

	for (pp = &req->http->requests; *pp; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	}
	if (req->easy)
		curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	free(req->body);
	free(req->resp.body);
	free(req);
}

bool
http_url_is_plain(const char *url)
{
	return url && strncasecmp(url, "http://", 7) == 0;
}

/* The URL's host (curl's own parser: user info, brackets and all) is a loopback address. */
static bool
url_host_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct in_addr a4;
	bool loopback = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
		if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
			loopback = true;
		else if (inet_pton(AF_INET, host, &a4) == 1)
			loopback = (ntohl(a4.s_addr) >> 24) == 127;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loopback;
}

static void
check_done(struct http *h)
{
	struct http_request *req;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		curl_multi_remove_handle(h->multi, req->easy);
		req->resp.curl_code = msg->data.result;
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->resp.status);
		if (req->too_big) {
			req->resp.curl_code = CURLE_FILESIZE_EXCEEDED;
			snprintf(req->resp.error, sizeof(req->resp.error),
				 "response over the %u-byte cap", HTTP_MAX_RESPONSE_BYTES);
		} else if (msg->data.result == CURLE_UNSUPPORTED_PROTOCOL && req->plain_refused) {
			snprintf(req->resp.error, sizeof(req->resp.error),
				 "plain http to a host other than this machine is refused: use "
				 "https, or set SyncAllowInsecureHTTP = true");
		} else if (msg->data.result != CURLE_OK && !req->resp.error[0]) {
			snprintf(req->resp.error, sizeof(req->resp.error), "%s",
				 curl_easy_strerror(msg->data.result));
		}
		if (req->resp.body)
			req->resp.body[req->resp.len] = '\0';
		req->done(&req->resp, req->userdata);
		request_free(req);
	}
}

static int
on_socket_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http *h = userdata;
	int action = 0, running;

	if (revents & EPOLLIN)
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, action, &running);
	check_done(h);
	return 0;
}

/* curl says which sockets to watch and for what. */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	sd_event_source *src = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (src) {
			sd_event_source_disable_unref(src);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (src)
		return sd_event_source_set_io_events(src, events) < 0 ? -1 : 0;
	if (sd_event_add_io(h->event, &src, fd, events, on_socket_event, h) < 0)
		return -1;
	curl_multi_assign(h->multi, fd, src);
	return 0;
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct http *h = userdata;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	uint64_t now;

	if (timeout_ms < 0)
		return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	if (sd_event_source_set_time(h->timer, now + (uint64_t)timeout_ms * 1000) < 0 ||
	    sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
		return -1;
	return 0;
}

int
http_new(sd_event *event, const struct http_settings *settings, struct http **out)
{
	struct http *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(event);
	h->settings = settings;
	h->multi = curl_multi_init();
	if (!h->multi) {
		r = -ENOMEM;
		goto fail;
	}
	r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, h);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return 0;
fail:
	http_free(h);
	return r;
}

void
http_free(struct http *h)
{
	if (!h)
		return;
	while (h->requests) {
		curl_multi_remove_handle(h->multi, h->requests->easy);
		request_free(h->requests);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	sd_event_source_disable_unref(h->timer);
	sd_event_unref(h->event);
	free(h);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb, want;
	char *p;

	if (req->resp.len + n > HTTP_MAX_RESPONSE_BYTES) {
		req->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (req->resp.len + n + 1 > req->resp.cap) {
		want = req->resp.cap ? req->resp.cap * 2 : 16384;
		while (want < req->resp.len + n + 1)
			want *= 2;
		p = realloc(req->resp.body, want);
		if (!p)
			return 0;
		req->resp.body = p;
		req->resp.cap = want;
	}
	memcpy(req->resp.body + req->resp.len, data, n);
	req->resp.len += n;
	return n;
}

/* The XSRF token and the header to echo it in come back as response headers. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb, k;
	char *dst = NULL;
	size_t dst_size = 0;

	if (n > 19 && strncasecmp(data, "X-XSRF-TOKEN-HEADER:", 20) == 0) {
		dst = req->resp.xsrf_header;
		dst_size = sizeof(req->resp.xsrf_header);
		k = 20;
	} else if (n > 12 && strncasecmp(data, "X-XSRF-TOKEN:", 13) == 0) {
		dst = req->resp.xsrf_token;
		dst_size = sizeof(req->resp.xsrf_token);
		k = 13;
	}
	if (dst) {
		while (k < n && (data[k] == ' ' || data[k] == '\t'))
			k++;
		size_t len = n - k;

		while (len > 0 && (data[k + len - 1] == '\r' || data[k + len - 1] == '\n' ||
				   data[k + len - 1] == ' '))
			len--;
		if (len < dst_size) {
			memcpy(dst, data + k, len);
			dst[len] = '\0';
		}
	}
	return n;
}

/* Santa drops these from SyncExtraHeaders: they would break the framing or the auth. */
static bool
header_allowed(const char *name)
{
	static const char *const reserved[] = { "Content-Encoding", "Content-Length",
						"Content-Type", "Connection", "Host",
						"Proxy-Authenticate", "Proxy-Authorization",
						"WWW-Authenticate" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return false;
	return name[0] && !strpbrk(name, ":\r\n") ;
}

int
http_post(struct http *h, const char *url, const char *body, size_t len, long timeout_s,
	  const char *xsrf_header, const char *xsrf_token, http_done_fn done, void *userdata)
{
	const struct http_settings *s = h->settings;
	struct http_request *req = calloc(1, sizeof(*req));
	char line[8192];
	void *z = NULL;
	size_t zlen = 0;
	int r;

	if (!req)
		return -ENOMEM;
	req->http = h;
	req->next = h->requests;
	h->requests = req;
	req->done = done;
	req->userdata = userdata;
	req->easy = curl_easy_init();
	if (!req->easy) {
		r = -ENOMEM;
		goto fail;
	}
	req->headers = curl_slist_append(req->headers, "Content-Type: application/json");
	if (len > 0 && s->encoding != SANTA_ENCODING_NONE) {
		r = sync_compress(body, len, s->encoding, &z, &zlen);
		if (r < 0)
			goto fail;
		req->body = z;
		req->body_len = zlen;
		req->headers = curl_slist_append(req->headers, s->encoding == SANTA_ENCODING_GZIP
							       ? "Content-Encoding: gzip"
							       : "Content-Encoding: deflate");
	} else if (len > 0) {
		req->body = malloc(len);
		if (!req->body) {
			r = -ENOMEM;
			goto fail;
		}
		memcpy(req->body, body, len);
		req->body_len = len;
	}
	for (size_t i = 0; s->extra_headers && i < s->extra_headers->n; i++) {
		const struct santa_kv *kv = &s->extra_headers->items[i];

		if (!header_allowed(kv->key) || strpbrk(kv->value, "\r\n"))
			continue;
		snprintf(line, sizeof(line), "%s: %s", kv->key, kv->value);
		req->headers = curl_slist_append(req->headers, line);
	}
	if (xsrf_token && xsrf_token[0]) {
		snprintf(line, sizeof(line), "%s: %s",
			 xsrf_header && xsrf_header[0] ? xsrf_header : "X-XSRF-TOKEN", xsrf_token);
		req->headers = curl_slist_append(req->headers, line);
	}
	if (!req->headers) {
		r = -ENOMEM;
		goto fail;
	}
	curl_easy_setopt(req->easy, CURLOPT_URL, url);
	curl_easy_setopt(req->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	if (s->user_agent)
		curl_easy_setopt(req->easy, CURLOPT_USERAGENT, s->user_agent);
	curl_easy_setopt(req->easy, CURLOPT_ACCEPT_ENCODING, ""); /* gzip and deflate, decoded */
	curl_easy_setopt(req->easy, CURLOPT_FOLLOWLOCATION, 0L); /* Santa refuses redirects */
	/*
	 * One connection per request. On a kept-alive connection the server
	 * closed, libcurl sends the request again at once on a new one, unseen
	 * by the caller: a server dropping connections would get two requests
	 * per attempt, the second without Santa's backoff (4, 8, 16, 32 s).
	 */
	curl_easy_setopt(req->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(req->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(req->easy, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
	curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
	/* curl itself refuses the scheme: no connection is ever made. */
	req->plain_refused = http_url_is_plain(url) && !s->allow_insecure_http &&
			     !url_host_is_loopback(url);
	curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR,
			 req->plain_refused ? "https" : "http,https");
	curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(req->easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
	if (s->ca_file) {
		/*
		 * Pinned roots replace the system's, as on Santa. CAINFO alone
		 * only swaps the bundle: libcurl still trusts its built-in CA
		 * directory (Debian: /etc/ssl/certs), so any public CA would do.
		 */
		curl_easy_setopt(req->easy, CURLOPT_CAINFO, s->ca_file);
		curl_easy_setopt(req->easy, CURLOPT_CAPATH, NULL);
	}
	if (s->cert) {
		struct curl_blob cert = { s->cert, s->cert_len, CURL_BLOB_COPY };

		curl_easy_setopt(req->easy, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(req->easy, CURLOPT_SSLCERTTYPE, s->cert_is_p12 ? "P12" : "PEM");
	}
	if (s->key) {
		struct curl_blob key = { s->key, s->key_len, CURL_BLOB_COPY };

		curl_easy_setopt(req->easy, CURLOPT_SSLKEY_BLOB, &key);
	}
	if (s->key_password)
		curl_easy_setopt(req->easy, CURLOPT_KEYPASSWD, s->key_password);
	if (s->proxy)
		curl_easy_setopt(req->easy, CURLOPT_PROXY, s->proxy);
	if (curl_multi_add_handle(h->multi, req->easy) != CURLM_OK) {
		r = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	request_free(req);
	return r;
}

static void *
copy_secret(void *old, size_t old_len, const void *data, size_t len)
{
	void *p = NULL;

	if (old) {
		explicit_bzero(old, old_len);
		free(old);
	}
	if (data && len) {
		p = malloc(len);
		if (p)
			memcpy(p, data, len);
	}
	return p;
}

void
http_settings_set_credentials(struct http_settings *s, const void *cert, size_t cert_len,
			      const void *key, size_t key_len, const char *password)
{
	s->cert = copy_secret(s->cert, s->cert_len, cert, cert_len);
	s->cert_len = s->cert ? cert_len : 0;
	/* PKCS#12 is DER: it starts with a SEQUENCE tag; PEM starts with text. */
	s->cert_is_p12 = s->cert && cert_len > 0 && ((const unsigned char *)cert)[0] == 0x30;
	s->key = copy_secret(s->key, s->key_len, key, key_len);
	s->key_len = s->key ? key_len : 0;
	if (s->key_password) {
		explicit_bzero(s->key_password, strlen(s->key_password));
		free(s->key_password);
	}
	s->key_password = password ? strdup(password) : NULL;
}

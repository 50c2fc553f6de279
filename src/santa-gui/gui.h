/* santa-gui's state: main's context struct. */
#ifndef SANTA_GUI_H
#define SANTA_GUI_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "santa/blockmsg.h"
#include "santa/config.h"
#include "santa/ipc.h"
#include "santa/log.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"

#define AGENT_SHOWN_MAX       64    /* notifications tracked for repeats and actions */
#define AGENT_SILENCED_MAX    256   /* files silenced at once */
#define AGENT_SILENCE_SECONDS 86400 /* "Silence for a day" */
#define AGENT_BUNDLES_MAX     2     /* bundles being hashed for us at once */
#define AGENT_PROGRESS_USEC   (500 * 1000ULL)

/* A notification on screen (or recently): what its actions need. */
struct shown {
	uint32_t id; /* the server's; 0: free slot */
	bool closed;
	unsigned int count; /* blocks collapsed into it */
	time_t when;
	char sha256[SANTA_SHA256_HEX_LEN + 1];
	char path[1024];
	/* What it says: the block's text, then a line about its bundle once known. */
	char summary[256];
	char body[SANTA_BLOCK_TEXT_MAX * 2];
	char bundle_line[1024];
	char label[128]; /* EventDetailText */
	/* The Details URL: the template and its values, filled again once the bundle hash is known. */
	char url_template[SANTA_BLOCK_URL_MAX];
	char username[64], machine_id[128], hostname[256];
	char bundle_hash[SANTA_SHA256_HEX_LEN + 1];
	char url[SANTA_BLOCK_URL_MAX];
	bool bundling;
	uint64_t bundle_shown_usec; /* progress updates at most every AGENT_PROGRESS_USEC */
};

struct agent {
	struct santa_log log;
	struct santa_config cfg;
	const char *config_path;
	sd_event *event;
	sd_bus *bus;
	struct ipc_conn *santad;   /* santad.sock, reconnects by itself */
	struct ipc_conn *endpoint; /* what santad pushes to */
	sd_event_source *retry;          /* connecting to santad */
	sd_event_source *register_retry; /* registering again after santad refused or dropped us */
	uint64_t register_backoff_usec;  /* the next delay; 0: the shortest */
	uint64_t registered_usec;        /* when santad last took this agent */
	bool registered;                 /* santad took the endpoint we have */
	bool connected;                  /* to santad.sock now */
	bool said_waiting, stopping;
	bool body_markup, actions; /* the notification server's capabilities */
	uint64_t blocks;
	unsigned int n_bundles;
	struct shown shown[AGENT_SHOWN_MAX];
	struct {
		char sha256[SANTA_SHA256_HEX_LEN + 1];
		time_t until;
	} silenced[AGENT_SILENCED_MAX];
	size_t n_silenced;
};

#endif

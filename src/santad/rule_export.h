/*
 * santactl rule --export (SANTAD_RULE_EXPORT, root's santactl only): every
 * rule of rules.db as Santa's import/export JSON document, in a memfd handed
 * to santactl. Written by a thread of its own, never by the loop: a
 * million rules take seconds. The verbs run on the loop; each export's
 * thread touches rules.db (a page at a time) and its memfd, nothing else.
 */
#ifndef SANTAD_RULE_EXPORT_H
#define SANTAD_RULE_EXPORT_H

#include <systemd/sd-event.h>

#include "santa/log.h"

struct ipc_conn;
struct ipc_msg;
struct rules_db;
struct rule_exports;

/* Exports running at once; one more is refused (EBUSY) until one is done. */
#define RULE_EXPORTS_MAX 2

int rule_exports_new(sd_event *event, struct rules_db *rules, const struct santa_log *log,
		     struct rule_exports **out);
/* Stops every running export (each within one page), answers its client with an error, frees. */
void rule_exports_free(struct rule_exports *x);
/* Starts an export for req and answers it on conn when done (or at once on error). Takes req. */
void rule_exports_start(struct rule_exports *x, struct ipc_conn *conn, struct ipc_msg *req);

#endif

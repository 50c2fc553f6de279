/*
 * santad's metrics (metrics.c): the export dictionary and the push to
 * santametricservice, on the loop thread. The counters are d->stats.
 */
#ifndef SANTAD_METRICS_H
#define SANTAD_METRICS_H

#include <jansson.h>

struct santad;

/* Counts a refusal of santad.sock under its enum ipc_reject_reason (santad.h), told by why's words. */
void santad_count_rejection(struct santad *d, const char *why);

/* The export dictionary (lib/metrics) of santad's metrics now; NULL when out of memory. */
json_t *santad_metrics_export(struct santad *d);
/* Pushes a snapshot to santametricservice every MetricExportInterval (if it runs). */
void santad_metrics_start(struct santad *d);
void santad_metrics_stop(struct santad *d);

#endif

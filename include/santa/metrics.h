/*
 * lib/metrics: Santa's metric export dictionary (docs/metrics.md) and its formats.
 *
 * santad builds one export dictionary per export -- exactly the `rawjson`
 * document Santa writes, dates as ISO 8601 UTC strings:
 *
 *   { "root_labels": { label: value },
 *     "metrics": { name: { "type": T, "description": D,
 *                          "fields": { "f1,f2": [ { "value": "v1,v2", "created": ...,
 *                                                   "last_updated": ..., "data": X } ] } } } }
 *
 * and the metric service turns it into the other formats. No I/O here.
 */
#ifndef SANTA_METRICS_H
#define SANTA_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* SNTMetricType, the numbers of the raw export. */
enum metric_type {
	METRIC_CONSTANT_BOOL = 1,
	METRIC_CONSTANT_STRING = 2,
	METRIC_CONSTANT_INT64 = 3,
	METRIC_CONSTANT_DOUBLE = 4,
	METRIC_GAUGE_BOOL = 5,
	METRIC_GAUGE_STRING = 6,
	METRIC_GAUGE_INT64 = 7,
	METRIC_GAUGE_DOUBLE = 8,
	METRIC_COUNTER = 9,
};

/* "SNTMetricTypeGaugeInt64", ... as santactl metrics prints them. */
const char *metric_type_name(enum metric_type type);

/* "2021-09-16T21:07:34.826Z" for Unix seconds t. */
void metrics_iso_date(double t, char *buf, size_t size);

/* An empty export dictionary, or NULL (out of memory). */
json_t *metrics_export_new(void);
/* Sets a root label; an empty value removes it (MetricExtraLabels semantics). */
int metrics_set_root_label(json_t *export, const char *key, const char *value);

/*
 * Adds one value of a metric (created on first use). fields and values are
 * comma-joined names and values ("" for none) and must have as many parts.
 * data is taken (a json integer, real, boolean or string). Returns 0,
 * -EINVAL (a mismatch, or a ',' in a value) or -ENOMEM.
 */
int metrics_add(json_t *export, const char *name, enum metric_type type, const char *description,
		const char *fields, const char *values, json_t *data, double created,
		double updated);

/*
 * Checks that a document is an export dictionary this library can format
 * (what the metric service does with what santad sends). 0 or -EBADMSG with
 * why naming the metric.
 */
int metrics_validate(json_t *export, char *why, size_t why_size);

/* Santa's monarchjson document; end_time is the export time of every point. */
char *metrics_format_monarch(json_t *export, double end_time);
/* rawjson: the dictionary itself, pretty-printed. */
char *metrics_format_raw(json_t *export);
/*
 * Prometheus text exposition format 0.0.4. Names: "/santa/events" becomes
 * santa_events_total (counters get _total), "/proc/memory/resident_size"
 * santa_proc_memory_resident_size; Santa's fields become labels, root labels
 * are added to every sample, string metrics become info-style gauges with
 * the string as a "value" label and 1 as the sample. A counter whose only
 * field is "le" (cumulative buckets) becomes a Prometheus histogram, with
 * "<name>_sum" (a plain counter beside it) as its _sum.
 */
char *metrics_format_prometheus(json_t *export);
/* The Prometheus name for a Santa metric name (buf of at least 256 bytes). */
void metrics_prometheus_name(const char *name, enum metric_type type, char *buf, size_t size);

/* santactl metrics' human output (docs/santactl.md), metrics whose name starts with a prefix. */
void metrics_print(FILE *out, json_t *export, const char *server, const char *format,
		   long long interval, const char *const *prefixes, size_t n_prefixes);

#endif

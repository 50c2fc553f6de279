/* Santa's metric export dictionary and the formats made from it (docs/metrics.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "santa/metrics.h"

const char *
metric_type_name(enum metric_type type)
{
	static const char *const names[] = {
		[METRIC_CONSTANT_BOOL] = "SNTMetricTypeConstantBool",
		[METRIC_CONSTANT_STRING] = "SNTMetricTypeConstantString",
		[METRIC_CONSTANT_INT64] = "SNTMetricTypeConstantInt64",
		[METRIC_CONSTANT_DOUBLE] = "SNTMetricTypeConstantDouble",
		[METRIC_GAUGE_BOOL] = "SNTMetricTypeGaugeBool",
		[METRIC_GAUGE_STRING] = "SNTMetricTypeGaugeString",
		[METRIC_GAUGE_INT64] = "SNTMetricTypeGaugeInt64",
		[METRIC_GAUGE_DOUBLE] = "SNTMetricTypeGaugeDouble",
		[METRIC_COUNTER] = "SNTMetricTypeCounter",
	};

	if (type < METRIC_CONSTANT_BOOL || type > METRIC_COUNTER)
		return "SNTMetricTypeUnknown";
	return names[type];
}

void
metrics_iso_date(double t, char *buf, size_t size)
{
	time_t secs = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000.0);
	struct tm tm;
	char base[32];

	if (ms > 999)
		ms = 999;
	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%.19s.%03uZ", base, (unsigned int)ms % 1000u);
}

json_t *
metrics_export_new(void)
{
	return json_pack("{s:{}, s:{}}", "root_labels", "metrics");
}

int
metrics_set_root_label(json_t *export, const char *key, const char *value)
{
	json_t *labels = json_object_get(export, "root_labels");

	if (!json_is_object(labels))
		return -EINVAL;
	if (!value || !value[0]) {
		json_object_del(labels, key);
		return 0;
	}
	return json_object_set_new(labels, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

static size_t
count_parts(const char *s)
{
	size_t n = s[0] ? 1 : 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

int
metrics_add(json_t *export, const char *name, enum metric_type type, const char *description,
	    const char *fields, const char *values, json_t *data, double created, double updated)
{
	json_t *metrics = json_object_get(export, "metrics"), *m, *f, *list, *point;
	char c[32], u[32];

	if (!data)
		return -ENOMEM;
	if (!json_is_object(metrics) || count_parts(fields) != count_parts(values) ||
	    (fields[0] == '\0' && values[0] != '\0')) {
		json_decref(data);
		return -EINVAL;
	}
	m = json_object_get(metrics, name);
	if (!m) {
		m = json_pack("{s:i, s:s, s:{}}", "type", (int)type, "description", description,
			      "fields");
		if (!m || json_object_set_new(metrics, name, m) < 0) {
			json_decref(data);
			return -ENOMEM;
		}
	}
	f = json_object_get(m, "fields");
	list = json_object_get(f, fields);
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(f, fields, list) < 0) {
			json_decref(data);
			return -ENOMEM;
		}
	}
	metrics_iso_date(created, c, sizeof(c));
	metrics_iso_date(updated, u, sizeof(u));
	point = json_pack("{s:s, s:s, s:s, s:o}", "value", values, "created", c, "last_updated", u,
			  "data", data);
	if (!point || json_array_append_new(list, point) < 0)
		return -ENOMEM;
	return 0;
}

int
metrics_validate(json_t *export, char *why, size_t why_size)
{
	json_t *labels = json_object_get(export, "root_labels");
	json_t *metrics = json_object_get(export, "metrics");
	json_t *m, *fields, *list, *point, *v;
	const char *name, *key, *fkey;
	size_t i;

	if (!json_is_object(export) || !json_is_object(metrics) ||
	    (labels && !json_is_object(labels))) {
		snprintf(why, why_size, "not an export dictionary (metrics and root_labels objects)");
		return -EBADMSG;
	}
	json_object_foreach(labels, key, v) {
		if (!json_is_string(v)) {
			snprintf(why, why_size, "root label %.64s is not a string", key);
			return -EBADMSG;
		}
	}
	json_object_foreach(metrics, name, m) {
		json_int_t type = json_integer_value(json_object_get(m, "type"));

		fields = json_object_get(m, "fields");
		if (!json_is_integer(json_object_get(m, "type")) || type < 1 || type > 9 ||
		    !json_is_object(fields)) {
			snprintf(why, why_size, "metric %.64s: needs a type 1-9 and fields", name);
			return -EBADMSG;
		}
		json_object_foreach(fields, fkey, list) {
			if (!json_is_array(list))
				goto bad_point;
			json_array_foreach(list, i, point) {
				v = json_object_get(point, "data");
				if (!json_is_string(json_object_get(point, "value")) ||
				    count_parts(json_string_value(json_object_get(point, "value"))) !=
					    count_parts(fkey) ||
				    !(json_is_number(v) || json_is_boolean(v) || json_is_string(v)))
					goto bad_point;
			}
		}
		continue;
bad_point:
		snprintf(why, why_size, "metric %.64s: a value needs \"value\" matching its fields "
			 "and a number, bool or string \"data\"", name);
		return -EBADMSG;
	}
	return 0;
}

char *
metrics_format_raw(json_t *export)
{
	return json_dumps(export, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

/* Splits "a,b" into a JSON list of {name, stringValue} (or {name, fieldType}). */
static json_t *
field_list(const char *names, const char *values)
{
	json_t *list = json_array();
	char *n = strdup(names), *v = values ? strdup(values) : NULL;
	char *ns = NULL, *vs = NULL, *nt, *vt;

	if (!list || !n || (values && !v))
		goto out;
	for (nt = strtok_r(n, ",", &ns), vt = v ? strtok_r(v, ",", &vs) : NULL; nt;
	     nt = strtok_r(NULL, ",", &ns), vt = v ? strtok_r(NULL, ",", &vs) : NULL) {
		if (values)
			json_array_append_new(list, json_pack("{s:s, s:s}", "name", nt, "stringValue",
							      vt ? vt : ""));
		else
			json_array_append_new(list, json_pack("{s:s, s:s}", "name", nt, "fieldType",
							      "STRING"));
	}
out:
	free(n);
	free(v);
	return list;
}

char *
metrics_format_monarch(json_t *export, double end_time)
{
	json_t *doc, *labels, *set, *m, *fields, *list, *point, *v;
	const char *name, *key, *fkey;
	char end[32];
	size_t i;
	char *s;

	metrics_iso_date(end_time, end, sizeof(end));
	labels = json_array();
	set = json_array();
	json_object_foreach(json_object_get(export, "root_labels"), key, v)
		json_array_append_new(labels, json_pack("{s:s, s:O}", "key", key, "stringValue", v));
	json_object_foreach(json_object_get(export, "metrics"), name, m) {
		int type = (int)json_integer_value(json_object_get(m, "type"));
		const char *value_type = "INT64", *value_key = "int64Value";
		json_t *ds = json_pack("{s:s}", "metricName", name), *data = json_array();
		const char *desc = json_string_value(json_object_get(m, "description"));

		if (desc && desc[0])
			json_object_set_new(ds, "description", json_string(desc));
		switch (type) {
		case METRIC_CONSTANT_BOOL:
		case METRIC_GAUGE_BOOL:
			value_type = "BOOL";
			value_key = "boolValue";
			break;
		case METRIC_CONSTANT_STRING:
		case METRIC_GAUGE_STRING:
			value_type = "STRING";
			value_key = "stringValue";
			break;
		case METRIC_CONSTANT_DOUBLE:
		case METRIC_GAUGE_DOUBLE:
			value_type = "DOUBLE";
			value_key = "doubleValue";
			break;
		default:
			break;
		}
		if (type >= METRIC_GAUGE_BOOL && type <= METRIC_GAUGE_DOUBLE)
			json_object_set_new(ds, "streamKind", json_string("GAUGE"));
		else if (type == METRIC_COUNTER)
			json_object_set_new(ds, "streamKind", json_string("CUMULATIVE"));
		json_object_set_new(ds, "valueType", json_string(value_type));
		fields = json_object_get(m, "fields");
		json_object_foreach(fields, fkey, list) {
			if (fkey[0] && !json_object_get(ds, "fieldDescriptor"))
				json_object_set_new(ds, "fieldDescriptor", field_list(fkey, NULL));
			json_array_foreach(list, i, point) {
				json_t *p = json_pack("{s:O, s:s}", "startTimestamp",
						      json_object_get(point, "created"), "endTimestamp",
						      end);
				json_t *d = json_object_get(point, "data");

				if (fkey[0])
					json_object_set_new(p, "field",
						field_list(fkey, json_string_value(json_object_get(point, "value"))));
				if (json_is_boolean(d) && strcmp(value_key, "boolValue") != 0)
					d = json_integer(json_is_true(d));
				else
					json_incref(d);
				json_object_set_new(p, value_key, d);
				json_array_append_new(data, p);
			}
		}
		json_object_set_new(ds, "data", data);
		json_array_append_new(set, ds);
	}
	doc = json_pack("{s:[{s:o, s:o}]}", "metricsCollection", "rootLabels", labels,
			"metricsDataSet", set);
	s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	return s;
}

void
metrics_prometheus_name(const char *name, enum metric_type type, char *buf, size_t size)
{
	size_t n = 0;
	const char *p = name;

	/* Every name is under santa_; "/santa/x" does not become santa_santa_x. */
	if (strncmp(p, "/santa/", 7) == 0)
		p += 7;
	n = (size_t)snprintf(buf, size, "santa_");
	for (; *p && n + 8 < size; p++) {
		char c = *p;

		if (c == '/' && n > 0 && buf[n - 1] == '_')
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		if (c == '_' && n > 0 && buf[n - 1] == '_')
			continue;
		if (c == '_' && n == 6)
			continue; /* "santa_" then a leading '/' */
		buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
	if (type == METRIC_COUNTER && (n < 6 || strcmp(buf + n - 6, "_total") != 0))
		snprintf(buf + n, size - n, "_total");
}

/* Label values escaped as the exposition format wants (\\, \", \n). */
static void
put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
put_labels(FILE *f, json_t *root_labels, const char *fields, const char *values,
	   const char *extra_key, const char *extra_value)
{
	const char *key;
	json_t *v;
	bool first = true;
	char *n = strdup(fields ? fields : ""), *vv = strdup(values ? values : "");
	char *ns = NULL, *vs = NULL, *nt, *vt;

	fputc('{', f);
	json_object_foreach(root_labels, key, v) {
		fprintf(f, "%s%s=\"", first ? "" : ",", key);
		put_escaped(f, json_string_value(v));
		fputc('"', f);
		first = false;
	}
	if (n && vv) {
		for (nt = strtok_r(n, ",", &ns), vt = strtok_r(vv, ",", &vs); nt;
		     nt = strtok_r(NULL, ",", &ns), vt = strtok_r(NULL, ",", &vs)) {
			fprintf(f, "%s%s=\"", first ? "" : ",", nt);
			put_escaped(f, vt ? vt : "");
			fputc('"', f);
			first = false;
		}
	}
	if (extra_key) {
		fprintf(f, "%s%s=\"", first ? "" : ",", extra_key);
		put_escaped(f, extra_value);
		fputc('"', f);
	}
	fputc('}', f);
	free(n);
	free(vv);
}

/* A counter whose one field is "le": Santa has no histograms, so one is kept as cumulative buckets. */
static bool
is_histogram(json_t *m)
{
	json_t *fields = json_object_get(m, "fields");

	return json_integer_value(json_object_get(m, "type")) == METRIC_COUNTER &&
	       json_object_size(fields) == 1 && json_object_get(fields, "le");
}

/* "<name>_sum" that belongs to a histogram "<name>": emitted with it, not alone. */
static bool
is_histogram_sum(json_t *metrics, const char *name)
{
	size_t n = strlen(name);
	char base[256];

	if (n < 5 || n - 4 >= sizeof(base) || strcmp(name + n - 4, "_sum") != 0)
		return false;
	memcpy(base, name, n - 4);
	base[n - 4] = '\0';
	return json_object_get(metrics, base) && is_histogram(json_object_get(metrics, base));
}

static void
put_help(FILE *f, const char *prom, const char *desc, const char *name, const char *type)
{
	fprintf(f, "# HELP %s ", prom);
	for (const char *p = desc && desc[0] ? desc : name; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fprintf(f, " (Santa: %s)\n# TYPE %s %s\n", name, prom, type);
}

static void
put_histogram(FILE *f, json_t *labels, json_t *metrics, const char *name, json_t *m)
{
	json_t *list = json_object_get(json_object_get(m, "fields"), "le"), *point, *sum;
	char prom[256], sum_name[300];
	json_int_t count = 0;
	size_t i;

	metrics_prometheus_name(name, METRIC_GAUGE_INT64, prom, sizeof(prom));
	put_help(f, prom, json_string_value(json_object_get(m, "description")), name, "histogram");
	json_array_foreach(list, i, point) {
		json_t *d = json_object_get(point, "data");

		fprintf(f, "%s_bucket", prom);
		put_labels(f, labels, "le", json_string_value(json_object_get(point, "value")), NULL,
			   NULL);
		fprintf(f, " %lld\n", (long long)json_integer_value(d));
		if (strcmp(json_string_value(json_object_get(point, "value")), "+Inf") == 0)
			count = json_integer_value(d);
	}
	snprintf(sum_name, sizeof(sum_name), "%s_sum", name);
	sum = json_array_get(json_object_get(json_object_get(json_object_get(metrics, sum_name),
							     "fields"), ""), 0);
	fprintf(f, "%s_sum", prom);
	put_labels(f, labels, NULL, NULL, NULL, NULL);
	fprintf(f, " %lld\n", (long long)json_integer_value(json_object_get(sum, "data")));
	fprintf(f, "%s_count", prom);
	put_labels(f, labels, NULL, NULL, NULL, NULL);
	fprintf(f, " %lld\n", (long long)count);
}

char *
metrics_format_prometheus(json_t *export)
{
	json_t *labels = json_object_get(export, "root_labels"), *m, *list, *point, *d;
	json_t *metrics = json_object_get(export, "metrics");
	const char *name, *fkey;
	char *buf = NULL, prom[256];
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_object_foreach(metrics, name, m) {
		enum metric_type type = (enum metric_type)json_integer_value(json_object_get(m, "type"));
		bool is_string = type == METRIC_CONSTANT_STRING || type == METRIC_GAUGE_STRING;

		if (is_histogram(m)) {
			put_histogram(f, labels, metrics, name, m);
			continue;
		}
		if (is_histogram_sum(metrics, name))
			continue;
		metrics_prometheus_name(name, type, prom, sizeof(prom));
		if (is_string) {
			size_t n = strlen(prom);

			snprintf(prom + n, sizeof(prom) - n, "_info");
		}
		put_help(f, prom, json_string_value(json_object_get(m, "description")), name,
			 type == METRIC_COUNTER ? "counter" : "gauge");
		json_object_foreach(json_object_get(m, "fields"), fkey, list) {
			json_array_foreach(list, i, point) {
				const char *values = json_string_value(json_object_get(point, "value"));

				d = json_object_get(point, "data");
				fputs(prom, f);
				put_labels(f, labels, fkey, values, is_string ? "value" : NULL,
					   is_string ? json_string_value(d) : NULL);
				if (is_string)
					fputs(" 1\n", f);
				else if (json_is_boolean(d))
					fprintf(f, " %d\n", json_is_true(d) ? 1 : 0);
				else if (json_is_integer(d))
					fprintf(f, " %lld\n", (long long)json_integer_value(d));
				else
					fprintf(f, " %.17g\n", json_number_value(d));
			}
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
print_data(FILE *out, json_t *d)
{
	if (json_is_boolean(d))
		fprintf(out, "%d", json_is_true(d) ? 1 : 0);
	else if (json_is_integer(d))
		fprintf(out, "%lld", (long long)json_integer_value(d));
	else if (json_is_real(d))
		fprintf(out, "%g", json_real_value(d));
	else if (json_is_string(d))
		fputs(json_string_value(d), out);
}

static bool
wanted(const char *name, const char *const *prefixes, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

void
metrics_print(FILE *out, json_t *export, const char *server, const char *format,
	      long long interval, const char *const *prefixes, size_t n_prefixes)
{
	json_t *m, *list, *point, *v;
	const char *name, *fkey, *key;
	size_t i;

	fprintf(out, ">>> Metrics Info\n");
	fprintf(out, "  %-25s | %s\n", "Metrics Server", server);
	fprintf(out, "  %-25s | %s\n", "Metrics Format", format);
	fprintf(out, "  %-25s | %lld\n", "Export Interval (seconds)", interval);
	fprintf(out, "\n>>> Root Labels\n");
	json_object_foreach(json_object_get(export, "root_labels"), key, v)
		fprintf(out, "  %-25s | %s\n", key, json_string_value(v));
	fprintf(out, "\n>>> Metrics\n");
	json_object_foreach(json_object_get(export, "metrics"), name, m) {
		if (!wanted(name, prefixes, n_prefixes))
			continue;
		fprintf(out, "  %-25s | %s\n", "Metric Name", name);
		fprintf(out, "  %-25s | %s\n", "Description",
			json_string_value(json_object_get(m, "description")));
		fprintf(out, "  %-25s | %s\n", "Type",
			metric_type_name((enum metric_type)json_integer_value(json_object_get(m, "type"))));
		json_object_foreach(json_object_get(m, "fields"), fkey, list) {
			json_array_foreach(list, i, point) {
				if (fkey[0]) {
					/* name=value pairs, as Santa prints them */
					char *n = strdup(fkey);
					char *vv = strdup(json_string_value(json_object_get(point, "value")));
					char *ns = NULL, *vs = NULL, *nt, *vt;
					bool f1 = true;

					fprintf(out, "  %-25s | ", "Field");
					for (nt = n ? strtok_r(n, ",", &ns) : NULL,
					    vt = vv ? strtok_r(vv, ",", &vs) : NULL;
					     nt; nt = strtok_r(NULL, ",", &ns), vt = strtok_r(NULL, ",", &vs)) {
						fprintf(out, "%s%s=%s", f1 ? "" : ",", nt, vt ? vt : "");
						f1 = false;
					}
					fputc('\n', out);
					free(n);
					free(vv);
				}
				fprintf(out, "  %-25s | %s\n", "Created",
					json_string_value(json_object_get(point, "created")));
				fprintf(out, "  %-25s | %s\n", "Last Updated",
					json_string_value(json_object_get(point, "last_updated")));
				fprintf(out, "  %-25s | ", "Data");
				print_data(out, json_object_get(point, "data"));
				fputc('\n', out);
			}
		}
		fputc('\n', out); /* Santa ends every metric with a blank line */
	}
}

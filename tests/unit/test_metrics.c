/* lib/metrics against Santa's golden metric files (tests/unit/data/metrics). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "santa/metrics.h"

static const char *
data_dir(void)
{
	const char *dir = getenv("SANTA_TEST_DATA");

	return dir ? dir : "tests/unit/data";
}

static json_t *
load(const char *name)
{
	char path[1024];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/metrics/%s", data_dir(), name);
	j = json_load_file(path, 0, &err);
	assert_non_null(j);
	return j;
}

static char *
slurp(const char *name)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/metrics/%s", data_dir(), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int
by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "metricName")),
		      json_string_value(json_object_get(y, "metricName")));
}

/* The data sets of a monarch document, sorted by name (the order is not significant). */
static json_t *
sorted_sets(json_t *doc)
{
	json_t *sets = json_object_get(json_array_get(json_object_get(doc, "metricsCollection"), 0),
				       "metricsDataSet");
	size_t n = json_array_size(sets), i;
	json_t **items = calloc(n, sizeof(*items)), *out = json_array();

	for (i = 0; i < n; i++)
		items[i] = json_array_get(sets, i);
	qsort(items, n, sizeof(*items), by_name);
	for (i = 0; i < n; i++)
		json_array_append(out, items[i]);
	free(items);
	return out;
}

static void
test_monarch_matches_santa(void **state)
{
	json_t *raw = load("test.json"), *want = load("monarch.json"), *got, *a, *b;
	char why[256];
	char *s;

	assert_int_equal(metrics_validate(raw, why, sizeof(why)), 0);
	/* the golden file's export time: 2021-09-16T21:08:10.000Z */
	s = metrics_format_monarch(raw, 1631826490.0);
	assert_non_null(s);
	got = json_loads(s, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(json_object_get(json_array_get(json_object_get(got, "metricsCollection"), 0), "rootLabels"),
			       json_object_get(json_array_get(json_object_get(want, "metricsCollection"), 0), "rootLabels")));
	a = sorted_sets(got);
	b = sorted_sets(want);
	for (size_t i = 0; i < json_array_size(b); i++) {
		char *x = json_dumps(json_array_get(a, i), JSON_SORT_KEYS);
		char *y = json_dumps(json_array_get(b, i), JSON_SORT_KEYS);

		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	assert_int_equal(json_array_size(a), json_array_size(b));
	json_decref(a);
	json_decref(b);
	json_decref(got);
	free(s);
	json_decref(raw);
	json_decref(want);
}

static void
test_santactl_output_matches_santa(void **state)
{
	json_t *raw = load("metrics-prettyprint.json");
	char *want = slurp("metrics-prettyprint.txt"), *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);

	metrics_print(f, raw, "http://localhost:2444/submit", "monarchjson", 30, NULL, 0);
	fclose(f);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(raw);
}

static void
test_build_and_prometheus(void **state)
{
	json_t *e = metrics_export_new();
	char why[256], name[256], *prom;

	assert_int_equal(metrics_set_root_label(e, "host_name", "h1"), 0);
	assert_int_equal(metrics_set_root_label(e, "team", "a\"b"), 0);
	assert_int_equal(metrics_set_root_label(e, "team", ""), 0); /* "" removes */
	assert_int_equal(metrics_add(e, "/santa/events", METRIC_COUNTER, "Count of exec events",
				     "action_response", "BlockBinary", json_integer(3), 1, 2), 0);
	assert_int_equal(metrics_add(e, "/santa/events", METRIC_COUNTER, "Count of exec events",
				     "action_response", "AllowUnknown", json_integer(5), 1, 2), 0);
	assert_int_equal(metrics_add(e, "/proc/memory/resident_size", METRIC_GAUGE_INT64, "RSS", "",
				     "", json_integer(1000), 1, 2), 0);
	assert_int_equal(metrics_add(e, "/santa/mode", METRIC_GAUGE_STRING, "Mode", "", "",
				     json_string("lockdown"), 1, 2), 0);
	/* fields and values must match */
	assert_int_equal(metrics_add(e, "/x", METRIC_COUNTER, "", "a,b", "1", json_integer(1), 1, 2),
			 -EINVAL);
	assert_int_equal(metrics_validate(e, why, sizeof(why)), 0);
	prom = metrics_format_prometheus(e);
	assert_non_null(prom);
	assert_non_null(strstr(prom, "# TYPE santa_events_total counter\n"));
	assert_non_null(strstr(prom, "santa_events_total{host_name=\"h1\",action_response=\"BlockBinary\"} 3\n"));
	assert_non_null(strstr(prom, "santa_proc_memory_resident_size{host_name=\"h1\"} 1000\n"));
	assert_non_null(strstr(prom, "santa_mode_info{host_name=\"h1\",value=\"lockdown\"} 1\n"));
	assert_null(strstr(prom, "team"));
	free(prom);
	metrics_prometheus_name("/build/label", METRIC_CONSTANT_STRING, name, sizeof(name));
	assert_string_equal(name, "santa_build_label");
	json_decref(e);

	/* what the service refuses from its channel */
	e = json_loads("{\"metrics\":{\"/a\":{\"type\":12,\"fields\":{}}}}", 0, NULL);
	assert_int_equal(metrics_validate(e, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "/a"));
	json_decref(e);
	e = json_loads("{\"metrics\":{\"/a\":{\"type\":9,\"fields\":{\"x,y\":[{\"value\":\"1\",\"data\":1}]}}}}", 0, NULL);
	assert_int_equal(metrics_validate(e, why, sizeof(why)), -EBADMSG);
	json_decref(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monarch_matches_santa),
		cmocka_unit_test(test_santactl_output_matches_santa),
		cmocka_unit_test(test_build_and_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

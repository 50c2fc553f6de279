/* The sync server's settings and the sync bookkeeping, persisted for santad. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/path.h"
#include "santa/sync_state.h"

void
sync_state_init(struct sync_state *s)
{
	memset(s, 0, sizeof(*s));
	s->enable_transitive_rules = -1;
	s->enable_all_event_upload = -1;
	s->disable_unknown_event_upload = -1;
	s->enable_bundles = -1;
	s->block_usb_mount = -1;
}

void
sync_state_free(struct sync_state *s)
{
	free(s->allowed_path_regex);
	free(s->blocked_path_regex);
	s->allowed_path_regex = s->blocked_path_regex = NULL;
}

static int
tri(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

static char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int
sync_state_load(struct sync_state *s, const char *path, char *why, size_t why_size)
{
	json_error_t err;
	json_t *o, *v;

	o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
		snprintf(why, why_size, "%s is not a sync state (%s): left as it is", path, err.text);
		return -EBADMSG;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(why, why_size, "%s is not a sync state (not a JSON object): left as it is",
			 path);
		return -EBADMSG;
	}
	v = json_object_get(o, "ClientMode");
	if (json_is_integer(v) && (json_integer_value(v) == 1 || json_integer_value(v) == 2))
		s->client_mode = (enum santa_mode)json_integer_value(v);
	s->allowed_path_regex = str(o, "AllowedPathRegex");
	s->blocked_path_regex = str(o, "BlockedPathRegex");
	s->enable_transitive_rules = tri(o, "EnableTransitiveRules");
	s->enable_all_event_upload = tri(o, "EnableAllEventUpload");
	s->disable_unknown_event_upload = tri(o, "DisableUnknownEventUpload");
	s->block_usb_mount = tri(o, "BlockUSBMount");
	v = json_object_get(o, "SyncTypeRequired");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 2)
		s->sync_type_required = (int)json_integer_value(v);
	v = json_object_get(o, "FullSyncLastSuccess");
	if (json_is_number(v))
		s->full_sync_last_success = json_number_value(v);
	v = json_object_get(o, "RuleSyncLastSuccess");
	if (json_is_number(v))
		s->rule_sync_last_success = json_number_value(v);
	v = json_object_get(o, "FullSyncInterval");
	if (json_is_integer(v) && json_integer_value(v) >= 60 && json_integer_value(v) < 1 << 30)
		s->full_sync_interval = (unsigned int)json_integer_value(v);
	json_decref(o);
	return 0;
}

static void
put_tri(json_t *o, const char *key, int value)
{
	if (value >= 0)
		json_object_set_new(o, key, json_boolean(value));
}

int
sync_state_encode(const struct sync_state *s, char **out)
{
	json_t *o = json_object();
	int r = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (s->client_mode)
		json_object_set_new(o, "ClientMode", json_integer(s->client_mode));
	if (s->allowed_path_regex)
		json_object_set_new(o, "AllowedPathRegex", json_string(s->allowed_path_regex));
	if (s->blocked_path_regex)
		json_object_set_new(o, "BlockedPathRegex", json_string(s->blocked_path_regex));
	put_tri(o, "EnableTransitiveRules", s->enable_transitive_rules);
	put_tri(o, "EnableAllEventUpload", s->enable_all_event_upload);
	put_tri(o, "DisableUnknownEventUpload", s->disable_unknown_event_upload);
	put_tri(o, "BlockUSBMount", s->block_usb_mount);
	json_object_set_new(o, "SyncTypeRequired", json_integer(s->sync_type_required));
	if (s->full_sync_last_success > 0)
		json_object_set_new(o, "FullSyncLastSuccess", json_real(s->full_sync_last_success));
	if (s->rule_sync_last_success > 0)
		json_object_set_new(o, "RuleSyncLastSuccess", json_real(s->rule_sync_last_success));
	if (s->full_sync_interval)
		json_object_set_new(o, "FullSyncInterval", json_integer(s->full_sync_interval));
	*out = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (*out)
		r = 0;
	json_decref(o);
	return r;
}

int
sync_state_save(const struct sync_state *s, const char *path)
{
	char *text = NULL;
	int r = sync_state_encode(s, &text);

	if (r == 0)
		r = santa_file_replace(path, text, strlen(text));
	free(text);
	return r;
}

static int
replace(char **dst, const char *src)
{
	char *copy = strdup(src);

	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

int
sync_state_apply(const struct sync_state *s, struct santa_config *cfg)
{
	int r = 0;

	if (s->client_mode == SANTA_MODE_MONITOR || s->client_mode == SANTA_MODE_LOCKDOWN)
		cfg->client_mode = s->client_mode;
	if (s->allowed_path_regex && s->allowed_path_regex[0])
		r = replace(&cfg->allowed_path_regex, s->allowed_path_regex);
	if (r == 0 && s->blocked_path_regex && s->blocked_path_regex[0])
		r = replace(&cfg->blocked_path_regex, s->blocked_path_regex);
	if (s->enable_transitive_rules >= 0)
		cfg->enable_transitive_rules = s->enable_transitive_rules;
	if (s->enable_all_event_upload >= 0)
		cfg->enable_all_event_upload = s->enable_all_event_upload;
	if (s->disable_unknown_event_upload >= 0)
		cfg->disable_unknown_event_upload = s->disable_unknown_event_upload;
	return r;
}

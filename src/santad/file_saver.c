#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "santa/path.h"
#include "file_saver.h"

struct file_saver_slot {
	char *path; /* NULL: free */
	char *text; /* NULL: nothing pending for path */
};

struct file_saver {
	const struct santa_log *log;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct file_saver_slot slots[FILE_SAVER_SLOTS]; /* under lock */
};

/* The next pending write (its path copied into path), or NULL when none. */
static char *
take_pending(struct file_saver *s, char **path)
{
	for (size_t i = 0; i < FILE_SAVER_SLOTS; i++) {
		char *text = s->slots[i].text;

		if (!text)
			continue;
		*path = strdup(s->slots[i].path);
		if (!*path)
			return NULL; /* left pending: tried again at the next put */
		s->slots[i].text = NULL;
		return text;
	}
	return NULL;
}

static void *
run(void *arg)
{
	struct file_saver *s = arg;

	(void)pthread_setname_np(pthread_self(), "santad-saver");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		char *path = NULL, *text = take_pending(s, &path);
		int r;

		if (!text) {
			if (s->stop)
				break;
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		r = santa_file_replace(path, text, strlen(text));
		if (r < 0)
			santa_log_errno(s->log, LOG_ERR, r, "cannot save %s (%m): it keeps its last "
					"content until the next save", path);
		free(path);
		free(text);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int
file_saver_new(const struct santa_log *log, struct file_saver **out)
{
	struct file_saver *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->log = log;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	r = -pthread_create(&s->thread, NULL, run, s);
	if (r < 0) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

int
file_saver_put(struct file_saver *s, const char *path, char *text)
{
	struct file_saver_slot *slot = NULL;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < FILE_SAVER_SLOTS && !slot; i++)
		if (s->slots[i].path && strcmp(s->slots[i].path, path) == 0)
			slot = &s->slots[i];
	for (size_t i = 0; i < FILE_SAVER_SLOTS && !slot; i++)
		if (!s->slots[i].path && (s->slots[i].path = strdup(path)))
			slot = &s->slots[i];
	if (!slot) {
		r = -ENOBUFS;
		free(text);
	} else {
		free(slot->text); /* not written yet: only the latest content matters */
		slot->text = text;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void
file_saver_free(struct file_saver *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < FILE_SAVER_SLOTS; i++) {
		free(s->slots[i].path);
		free(s->slots[i].text);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

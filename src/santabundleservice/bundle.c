/*
 * Bundles on Linux: what Santa calls an application bundle is, here, the
 * Debian package that owns a file (asked of dpkg itself, with dpkg-query, so
 * diversions and the /usr merge are dpkg's business) or else the application
 * tree below one of BundleRoots (/opt/<app>). Its executables are the ELF
 * programs in it (executables and PIE executables, not shared libraries),
 * as Santa counts Mach-O executables; they are hashed in parallel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "santa/elf.h"

extern char **environ;

/* Runs dpkg-query with args and returns its standard output (NUL-terminated, capped). */
static int
dpkg_query(const char *const *args, char **out, size_t *len)
{
	char *argv[8] = { "dpkg-query" };
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, r;
	size_t n = 0, cap = 64 * 1024, i;
	char *buf = NULL;
	pid_t pid;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = -posix_spawnp(&pid, "dpkg-query", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t got;

		if (n == cap) {
			char *bigger;

			if (cap >= BUNDLE_DPKG_OUTPUT_MAX) {
				r = -E2BIG;
				break;
			}
			bigger = realloc(buf, cap * 2 + 1);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		got = read(pipefd[0], buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -ENOMEM;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(buf);
		return r < 0 ? r : -ENOENT;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* The names dpkg may list a file under: as given, resolved, and across the /usr merge. */
static size_t
path_aliases(const char *path, char out[][PATH_MAX], size_t max)
{
	static const char *const merged[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/",
					      "/libx32/" };
	char real[PATH_MAX];
	const char *bases[2] = { path, NULL };
	size_t n = 0, i, k;

	if (realpath(path, real))
		bases[1] = real;
	for (k = 0; k < 2 && n < max; k++) {
		if (!bases[k])
			continue;
		snprintf(out[n++], PATH_MAX, "%s", bases[k]);
		for (i = 0; i < sizeof(merged) / sizeof(merged[0]) && n < max; i++) {
			size_t len = strlen(merged[i]);

			if (strncmp(bases[k], "/usr", 4) == 0 && strncmp(bases[k] + 4, merged[i], len) == 0)
				snprintf(out[n++], PATH_MAX, "%s", bases[k] + 4);
			else if (strncmp(bases[k], merged[i], len) == 0)
				snprintf(out[n++], PATH_MAX, "/usr%s", bases[k]);
		}
	}
	return n;
}

/* "coreutils: /bin/true" -> "coreutils"; diversion lines are skipped. */
static int
owner_of(const char *path, char *pkg, size_t size)
{
	char aliases[8][PATH_MAX];
	size_t n = path_aliases(path, aliases, 8), i;

	for (i = 0; i < n; i++) {
		const char *args[] = { "-S", aliases[i], NULL };
		char *out = NULL, *line, *save = NULL;

		if (dpkg_query(args, &out, NULL) < 0)
			continue;
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			size_t len;

			if (strncmp(line, "diversion by", 12) == 0)
				continue;
			len = strcspn(line, ",:");
			if (line[len] && len > 0 && len < size) {
				memcpy(pkg, line, len);
				pkg[len] = '\0';
				free(out);
				return 0;
			}
		}
		free(out);
	}
	return -ENOENT;
}

static int
add_candidate(struct bundle *b, const char *path)
{
	struct santa_elf_info elf;
	struct stat st;
	size_t i;
	int fd;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return 0;
	for (i = 0; i < b->n_exes; i++) /* the same file under two names counts once */
		if (b->exes[i].dev == st.st_dev && b->exes[i].ino == st.st_ino)
			return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (santa_elf_read(fd, &elf) < 0 || !santa_elf_is_program(&elf)) {
		close(fd);
		return 0;
	}
	close(fd);
	if (b->n_exes == BUNDLE_EXECUTABLES_MAX)
		return -E2BIG;
	if (b->n_exes == b->cap_exes) {
		size_t cap = b->cap_exes ? b->cap_exes * 2 : 64;
		struct bundle_exe *more = realloc(b->exes, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		b->exes = more;
		b->cap_exes = cap;
	}
	memset(&b->exes[b->n_exes], 0, sizeof(b->exes[0]));
	b->exes[b->n_exes].path = strdup(path);
	if (!b->exes[b->n_exes].path)
		return -ENOMEM;
	b->exes[b->n_exes].dev = st.st_dev;
	b->exes[b->n_exes].ino = st.st_ino;
	b->n_exes++;
	return 0;
}

static int
find_deb(const char *path, struct bundle *b)
{
	char pkg[256], *out = NULL, *line, *save = NULL;
	int r;

	r = owner_of(path, pkg, sizeof(pkg));
	if (r < 0)
		return r;
	{
		const char *args[] = { "-W", "-f=${Package}\t${Version}", pkg, NULL };
		char *tab;

		r = dpkg_query(args, &out, NULL);
		if (r < 0)
			return r;
		out[strcspn(out, "\n")] = '\0';
		tab = strchr(out, '\t');
		snprintf(b->version, sizeof(b->version), "%s", tab ? tab + 1 : "");
		free(out);
		out = NULL;
	}
	snprintf(b->kind, sizeof(b->kind), "deb");
	snprintf(b->name, sizeof(b->name), "%s", pkg);
	snprintf(b->root, sizeof(b->root), "%s", pkg);
	{
		const char *args[] = { "-L", pkg, NULL };

		r = dpkg_query(args, &out, NULL);
		if (r < 0)
			return r;
	}
	for (line = strtok_r(out, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '/')
			r = add_candidate(b, line);
	free(out);
	return r;
}

/* nftw has no user pointer: the walk's bundle travels in a thread-local. */
static __thread struct bundle *walk_bundle;
static __thread int walk_error;
static __thread size_t walk_entries;

static int
walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (++walk_entries > BUNDLE_TREE_ENTRIES_MAX) {
		walk_error = -E2BIG;
		return 1;
	}
	if (type != FTW_F)
		return 0;
	walk_error = add_candidate(walk_bundle, path);
	return walk_error < 0 ? 1 : 0;
}

static int
find_tree(const char *path, const struct santa_strv *roots, struct bundle *b)
{
	static const char *const default_roots[] = { "/opt" };
	char real[PATH_MAX];
	size_t i, n = roots && roots->n ? roots->n : 1;

	if (!realpath(path, real))
		return -errno;
	for (i = 0; i < n; i++) {
		const char *root = roots && roots->n ? roots->items[i] : default_roots[0];
		size_t len = strlen(root);
		const char *rest, *slash;

		while (len > 1 && root[len - 1] == '/')
			len--;
		if (strncmp(real, root, len) != 0 || real[len] != '/')
			continue;
		rest = real + len + 1;
		slash = strchr(rest, '/');
		if (!slash)
			continue; /* a file directly in the root is no application tree */
		snprintf(b->kind, sizeof(b->kind), "tree");
		snprintf(b->root, sizeof(b->root), "%.*s", (int)(slash - real), real);
		snprintf(b->name, sizeof(b->name), "%.*s", (int)(slash - rest), rest);
		walk_bundle = b;
		walk_error = 0;
		walk_entries = 0;
		if (nftw(b->root, walk_one, 32, FTW_PHYS | FTW_MOUNT) < 0)
			return -errno;
		return walk_error;
	}
	return -ENOENT;
}

int
bundle_find(const char *path, const struct santa_strv *roots, struct bundle *b, char *why,
	    size_t why_size)
{
	int r;

	memset(b, 0, sizeof(*b));
	r = find_deb(path, b);
	if (r == -ENOENT) {
		bundle_free(b);
		r = find_tree(path, roots, b);
	}
	if (r == -ENOENT)
		snprintf(why, why_size, "%s is not in a bundle (no Debian package owns it, and it "
			 "is not below any of BundleRoots)", path);
	else if (r == -E2BIG)
		snprintf(why, why_size, "the bundle of %s is too large (more than %d executables "
			 "or %d entries)", path, BUNDLE_EXECUTABLES_MAX, BUNDLE_TREE_ENTRIES_MAX);
	else if (r < 0)
		snprintf(why, why_size, "cannot find the bundle of %s: %s", path, strerror(-r));
	else if (b->n_exes == 0) {
		snprintf(why, why_size, "the bundle of %s (%s) has no executables", path, b->name);
		r = -ENOENT;
	}
	if (r < 0)
		bundle_free(b);
	return r;
}

struct hash_ctx {
	struct bundle *b;
	atomic_size_t next;
	atomic_size_t *done;
};

static void *
hash_worker(void *arg)
{
	struct hash_ctx *c = arg;
	size_t i;

	while ((i = atomic_fetch_add(&c->next, 1)) < c->b->n_exes) {
		struct bundle_exe *e = &c->b->exes[i];

		e->error = santa_sha256_path(e->path, 0, e->sha256);
		atomic_fetch_add(c->done, 1);
	}
	return NULL;
}

static int
cmp_hex(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
bundle_hash(struct bundle *b, unsigned int threads, atomic_size_t *done)
{
	pthread_t tids[BUNDLE_HASH_THREADS_MAX];
	struct hash_ctx ctx = { .b = b, .done = done };
	char (*hex)[SANTA_SHA256_HEX_LEN + 1] = NULL;
	const char **sorted = NULL;
	char *joined = NULL;
	unsigned int started = 0, t;
	size_t i, hashed = 0;
	int r = 0;

	if (threads < 1)
		threads = 1;
	if (threads > BUNDLE_HASH_THREADS_MAX)
		threads = BUNDLE_HASH_THREADS_MAX;
	for (t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, hash_worker, &ctx) == 0)
			started++;
	if (started == 0)
		hash_worker(&ctx);
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	hex = calloc(b->n_exes, sizeof(*hex));
	sorted = calloc(b->n_exes, sizeof(*sorted));
	joined = malloc(b->n_exes * SANTA_SHA256_HEX_LEN + 1);
	if (!hex || !sorted || !joined) {
		r = -ENOMEM;
		goto out;
	}
	/* The bundle hash: SHA-256 of the sorted hex hashes of its executables, concatenated. */
	for (i = 0; i < b->n_exes; i++) {
		if (b->exes[i].error < 0)
			continue; /* vanished or unreadable since it was listed */
		santa_sha256_to_hex(b->exes[i].sha256, hex[i]);
		sorted[hashed++] = hex[i];
	}
	if (hashed == 0) {
		r = -ENOENT;
		goto out;
	}
	qsort(sorted, hashed, sizeof(*sorted), cmp_hex);
	for (i = 0; i < hashed; i++)
		memcpy(joined + i * SANTA_SHA256_HEX_LEN, sorted[i], SANTA_SHA256_HEX_LEN);
	r = santa_sha256_buf(joined, hashed * SANTA_SHA256_HEX_LEN, b->bundle_hash);
	b->n_hashed = hashed;
out:
	free(hex);
	free(sorted);
	free(joined);
	return r;
}

void
bundle_free(struct bundle *b)
{
	size_t i;

	for (i = 0; i < b->n_exes; i++)
		free(b->exes[i].path);
	free(b->exes);
	b->exes = NULL;
	b->n_exes = b->cap_exes = 0;
}

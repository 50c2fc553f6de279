/*
 * Bundles on Linux: what Santa calls an application bundle is, here, the
 * Debian package that owns a file (asked of dpkg itself, with dpkg-query, so
 * diversions and the /usr merge are dpkg's business) or else the application
 * tree below one of BundleRoots (/opt/<app>). Its executables are the ELF
 * programs in it (executables and PIE executables, not shared libraries),
 * as Santa counts Mach-O executables; they are hashed in parallel.
 *
 * Everything here runs with the calling thread's file system credentials
 * (main.c gives a request's thread its client's), so the kernel decides what
 * may be read. Every open is openat2 with RESOLVE_NO_SYMLINKS, O_NOFOLLOW
 * and O_NONBLOCK, of regular files only; a tree is walked from file
 * descriptors (RESOLVE_BENEATH its directory, RESOLVE_NO_XDEV), and a file
 * is hashed by opening again the same way and checking its (dev, ino), so a
 * directory swapped for a symlink between the walk and the hash is not
 * followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
stop(struct bundle_ctl *ctl, int error)
{
	int none = 0;

	(void)atomic_compare_exchange_strong(&ctl->cancel, &none, error);
	return atomic_load(&ctl->cancel);
}

static int
open_how(int dirfd, const char *name, int flags, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC),
		.resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	/* No fallback to openat: without openat2 nothing would keep symlinks out. */
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int
bundle_open_regular(int dirfd, const char *name, uint64_t resolve, struct stat *st)
{
	int fd, r;

	fd = open_how(dirfd, name, O_RDONLY, resolve);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int
bundle_hash_fd(int fd, off_t size, struct bundle_ctl *ctl, uint8_t digest[SANTA_SHA256_LEN])
{
	struct santa_sha256_stream *s = NULL;
	uint64_t before;
	int r;

	if (size < 0)
		return -EINVAL;
	before = atomic_fetch_add(&ctl->bytes, (uint64_t)size);
	if (before + (uint64_t)size > BUNDLE_HASH_BYTES_MAX)
		return -E2BIG;
	r = santa_sha256_stream_new(&s);
	if (r < 0)
		return r;
	for (;;) {
		r = atomic_load(&ctl->cancel);
		if (r < 0)
			break;
		r = santa_sha256_stream_step(s, fd, BUNDLE_HASH_STEP, digest);
		if (r != 0)
			break;
		/* A file that grows while it is read is not read for ever. */
		if (santa_sha256_stream_bytes(s) > (uint64_t)size) {
			r = -ESTALE;
			break;
		}
	}
	santa_sha256_stream_free(s);
	return r < 0 ? r : 0;
}

static bool
is_denied(int r)
{
	return r == -EACCES || r == -EPERM;
}

/*
 * name (below dirfd) is one of the bundle's executables if it opens as a
 * regular file with an exec bit and is an ELF program; rel is how the hash
 * opens it again below b->base_fd, shown how it is reported.
 */
static int
add_candidate(struct bundle *b, int dirfd, const char *name, const char *rel, const char *shown)
{
	struct santa_elf_info elf;
	struct bundle_exe *e;
	struct stat st;
	size_t i;
	int fd;

	fd = bundle_open_regular(dirfd, name, b->resolve, &st);
	if (fd < 0) {
		if (is_denied(fd))
			b->n_denied++;
		return fd == -ELOOP ? fd : 0;
	}
	if (!(st.st_mode & 0111))
		goto skip;
	for (i = 0; i < b->n_exes; i++) /* the same file under two names counts once */
		if (b->exes[i].dev == st.st_dev && b->exes[i].ino == st.st_ino)
			goto skip;
	if (santa_elf_read(fd, &elf) < 0 || !santa_elf_is_program(&elf))
		goto skip;
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
	e = &b->exes[b->n_exes];
	memset(e, 0, sizeof(*e));
	e->path = strdup(shown);
	e->rel = strdup(rel);
	if (!e->path || !e->rel) {
		free(e->path);
		free(e->rel);
		return -ENOMEM;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->size = st.st_size;
	b->n_exes++;
	return 0;
skip:
	close(fd);
	return 0;
}

/*
 * A file dpkg lists, by its own name, or, when a symlink is on the way (the
 * /usr merge's /bin -> usr/bin), by the name below /usr: no symlink is
 * followed, the merge's included.
 */
static int
add_listed(struct bundle *b, const char *path)
{
	static const char *const merged[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/",
					      "/libx32/" };
	char usr[PATH_MAX];
	size_t i;
	int r;

	r = add_candidate(b, AT_FDCWD, path, path, path);
	if (r != -ELOOP)
		return r;
	for (i = 0; i < sizeof(merged) / sizeof(merged[0]); i++) {
		if (strncmp(path, merged[i], strlen(merged[i])) != 0)
			continue;
		if (snprintf(usr, sizeof(usr), "/usr%s", path) >= (int)sizeof(usr))
			return 0;
		r = add_candidate(b, AT_FDCWD, usr, usr, path);
		return r == -ELOOP ? 0 : r;
	}
	return 0;
}

static int
find_deb(const char *path, struct bundle *b, struct bundle_ctl *ctl)
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
	b->base_fd = AT_FDCWD;
	b->resolve = 0;
	{
		const char *args[] = { "-L", pkg, NULL };

		r = dpkg_query(args, &out, NULL);
		if (r < 0)
			return r;
	}
	for (line = strtok_r(out, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		r = atomic_load(&ctl->cancel);
		if (r == 0 && line[0] == '/')
			r = add_listed(b, line);
	}
	free(out);
	return r;
}

struct walk_dir {
	DIR *dir;
	size_t len; /* of its path in rel */
};

/*
 * Every entry below b->base_fd, depth first, each opened relative to its
 * directory's fd: no symlink, no mount crossed, nothing the caller may not
 * read (counted in n_denied, named nowhere).
 */
static int
walk_tree(struct bundle *b, struct bundle_ctl *ctl)
{
	struct walk_dir stack[BUNDLE_TREE_DEPTH_MAX];
	char rel[PATH_MAX], shown[PATH_MAX * 2];
	size_t depth = 0, entries = 0, len;
	int fd, r = 0;

	fd = open_how(b->base_fd, ".", O_RDONLY | O_DIRECTORY, b->resolve);
	if (fd < 0)
		return fd;
	stack[0].dir = fdopendir(fd);
	if (!stack[0].dir) {
		r = -errno;
		close(fd);
		return r;
	}
	stack[0].len = 0;
	depth = 1;
	while (depth > 0) {
		struct walk_dir *top = &stack[depth - 1];
		struct dirent *de;
		struct stat st;
		DIR *sub;

		r = atomic_load(&ctl->cancel);
		if (r < 0)
			break;
		de = readdir(top->dir);
		if (!de) {
			closedir(top->dir);
			depth--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++entries > BUNDLE_TREE_ENTRIES_MAX) {
			r = -E2BIG;
			break;
		}
		len = top->len + (top->len ? 1 : 0) + strlen(de->d_name);
		if (len >= sizeof(rel))
			continue;
		snprintf(rel + top->len, sizeof(rel) - top->len, "%s%s", top->len ? "/" : "",
			 de->d_name);
		if (fstatat(dirfd(top->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (is_denied(-errno))
				b->n_denied++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth == BUNDLE_TREE_DEPTH_MAX)
				continue;
			fd = open_how(dirfd(top->dir), de->d_name, O_RDONLY | O_DIRECTORY, b->resolve);
			if (fd < 0) {
				if (is_denied(fd))
					b->n_denied++;
				continue;
			}
			sub = fdopendir(fd);
			if (!sub) {
				close(fd);
				continue;
			}
			stack[depth].dir = sub;
			stack[depth].len = len;
			depth++;
			continue;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		snprintf(shown, sizeof(shown), "%s/%s", b->root, rel);
		r = add_candidate(b, dirfd(top->dir), de->d_name, rel, shown);
		if (r == -ELOOP)
			r = 0; /* swapped for a symlink since fstatat: left out */
		if (r < 0)
			break;
	}
	while (depth > 0)
		closedir(stack[--depth].dir);
	return r;
}

static int
find_tree(const char *path, const struct santa_strv *roots, struct bundle *b,
	  struct bundle_ctl *ctl)
{
	static const char *const default_roots[] = { "/opt" };
	char real[PATH_MAX], top[PATH_MAX];
	size_t i, n = roots && roots->n ? roots->n : 1;
	int fd;

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
		/* BundleRoots are the administrator's: symlinks there are theirs to make. */
		snprintf(top, sizeof(top), "%.*s", (int)len, root);
		fd = open(top, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		b->base_fd = open_how(fd, b->name, O_RDONLY | O_DIRECTORY, RESOLVE_BENEATH);
		close(fd);
		if (b->base_fd < 0) {
			fd = b->base_fd;
			b->base_fd = -1;
			return fd;
		}
		b->resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV;
		return walk_tree(b, ctl);
	}
	return -ENOENT;
}

int
bundle_find(const char *path, const struct santa_strv *roots, struct bundle *b,
	    struct bundle_ctl *ctl, char *why, size_t why_size)
{
	int r;

	memset(b, 0, sizeof(*b));
	b->base_fd = -1;
	r = find_deb(path, b, ctl);
	if (r == -ENOENT) {
		bundle_free(b);
		r = find_tree(path, roots, b, ctl);
	}
	if (atomic_load(&ctl->cancel) < 0)
		r = atomic_load(&ctl->cancel);
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
	struct bundle_ctl *ctl;
	atomic_size_t next;
	atomic_size_t *done;
};

static void *
hash_worker(void *arg)
{
	struct hash_ctx *c = arg;
	struct bundle *b = c->b;
	struct stat st;
	size_t i;
	int fd;

	while ((i = atomic_fetch_add(&c->next, 1)) < b->n_exes) {
		struct bundle_exe *e = &b->exes[i];

		e->error = atomic_load(&c->ctl->cancel);
		if (e->error < 0)
			break;
		/* Opened again as it was listed, and it must still be the file listed. */
		fd = bundle_open_regular(b->base_fd, e->rel, b->resolve, &st);
		if (fd < 0) {
			e->error = fd;
		} else {
			if (st.st_dev != e->dev || st.st_ino != e->ino)
				e->error = -ESTALE;
			else
				e->error = bundle_hash_fd(fd, st.st_size, c->ctl, e->sha256);
			close(fd);
		}
		if (e->error == -E2BIG)
			stop(c->ctl, -E2BIG);
		atomic_fetch_add(c->done, 1);
	}
	return NULL;
}

static int
cmp_hex(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Largest first: the threads finish together rather than one of them last with a big file. */
static int
cmp_size_desc(const void *a, const void *b)
{
	const struct bundle_exe *x = a, *y = b;

	return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

int
bundle_hash(struct bundle *b, unsigned int threads, atomic_size_t *done, struct bundle_ctl *ctl)
{
	pthread_t tids[BUNDLE_HASH_THREADS_MAX];
	struct hash_ctx ctx = { .b = b, .ctl = ctl, .done = done };
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
	qsort(b->exes, b->n_exes, sizeof(b->exes[0]), cmp_size_desc);
	for (t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, hash_worker, &ctx) == 0)
			started++;
	if (started == 0)
		hash_worker(&ctx);
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	r = atomic_load(&ctl->cancel);
	if (r < 0)
		return r;
	hex = calloc(b->n_exes, sizeof(*hex));
	sorted = calloc(b->n_exes, sizeof(*sorted));
	joined = malloc(b->n_exes * SANTA_SHA256_HEX_LEN + 1);
	if (!hex || !sorted || !joined) {
		r = -ENOMEM;
		goto out;
	}
	/* The bundle hash: SHA-256 of the sorted hex hashes of its executables, concatenated. */
	for (i = 0; i < b->n_exes; i++) {
		if (b->exes[i].error < 0) {
			if (is_denied(b->exes[i].error))
				b->n_denied++;
			continue; /* vanished, replaced or unreadable since it was listed */
		}
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

	for (i = 0; i < b->n_exes; i++) {
		free(b->exes[i].path);
		free(b->exes[i].rel);
	}
	free(b->exes);
	b->exes = NULL;
	b->n_exes = b->cap_exes = 0;
	if (b->base_fd >= 0)
		close(b->base_fd);
	b->base_fd = -1;
}

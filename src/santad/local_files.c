/*
 * santad's local data and configuration, and who may touch them: santa.conf
 * is read only when nobody but root can have written it (nor changed the
 * directories leading to it); santa.log is root's and the adm group's to
 * read (it holds every user's command lines); the databases are root's
 * alone. Runs on the loop thread, at start and on SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/path.h"
#include "santad.h"
#include "local_files.h"

#define LOG_FILE_MODE  0640
#define STATE_FILE_MODE 0600

gid_t
santad_log_group(void)
{
	struct group gr, *res = NULL;
	char buf[4096];

	/* Debian's group for reading logs (as /var/log/syslog, apache2); without it, root's. */
	if (getgrnam_r("adm", &gr, buf, sizeof(buf), &res) == 0 && res)
		return res->gr_gid;
	return 0;
}

int
santad_open_config(struct santad *d)
{
	char why[PATH_MAX + 256];
	int fd;

	/* Said even on a quiet reload (after a sync): a refusal is never routine. */
	fd = santa_open_root_owned(d->config_path, why, sizeof(why));
	if (fd == -EPERM || (fd < 0 && fd != -ENOENT && why[0]))
		santa_log(&d->log, LOG_ERR, "refusing the configuration %s: %s", d->config_path, why);
	return fd;
}

/* A santa.conf every user may read should hold nothing a user may not know. */
void
santad_warn_config_secrets(struct santad *d, int fd, const struct santa_config *cfg)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !(st.st_mode & S_IROTH))
		return;
	if (cfg->sync_extra_headers.n || cfg->client_auth_certificate_password)
		santa_log(&d->log, LOG_WARNING,
			  "%s is readable by every user (mode %04o) and holds secrets "
			  "(SyncExtraHeaders, ClientAuthCertificatePassword): chmod 0640 it; "
			  "santad hands the sync service what it needs",
			  d->config_path, (unsigned)(st.st_mode & 07777));
}

/*
 * Makes path (if it exists; created empty first when create) a file of
 * owner root, group gid, with no permission beyond max, saying so when it
 * was looser. A symlink is left alone: whoever opens it refuses it.
 */
static void
tighten(struct santad *d, const char *path, mode_t max, gid_t gid, bool create)
{
	struct stat st;
	mode_t mode;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (create ? O_CREAT : 0), max);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	mode = st.st_mode & 07777;
	if (st.st_uid != 0 || st.st_gid != gid) {
		if (fchown(fd, 0, gid) < 0) {
			santa_log_errno(&d->log, LOG_ERR, -errno, "cannot give %s to root: %m", path);
			goto out;
		}
		if (st.st_size > 0 || st.st_uid != 0)
			santa_log(&d->log, LOG_NOTICE, "%s: owner %u:%u changed to 0:%u", path,
				  (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)gid);
	}
	if ((mode & ~max) != 0) {
		if (fchmod(fd, mode & max) < 0)
			santa_log_errno(&d->log, LOG_ERR, -errno, "cannot tighten %s: %m", path);
		else
			santa_log(&d->log, LOG_NOTICE, "%s was mode %04o: now %04o", path,
				  (unsigned)mode, (unsigned)(mode & max));
	}
out:
	close(fd);
}

static void
tighten_db(struct santad *d, const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "-journal" };
	char side[PATH_MAX];

	/*
	 * Created here, 0600, before SQLite opens it: SQLite would make it 0644
	 * and a reader who opened it in that moment would keep reading it. Its
	 * WAL and shared-memory files take the database file's mode.
	 */
	tighten(d, path, STATE_FILE_MODE, 0, true);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if ((size_t)snprintf(side, sizeof(side), "%s%s", path, suffixes[i]) < sizeof(side))
			tighten(d, side, STATE_FILE_MODE, 0, false);
}

void
santad_secure_local_files(struct santad *d)
{
	tighten_db(d, d->start.rules_db_path);
	tighten_db(d, d->start.events_db_path);
	tighten(d, d->start.sync_state_path, STATE_FILE_MODE, 0, false);
	if (d->start.event_log_type == SANTA_EVENT_LOG_FILE || d->start.event_log_type == SANTA_EVENT_LOG_JSON)
		tighten(d, d->start.event_log_path, LOG_FILE_MODE, santad_log_group(), false);
}

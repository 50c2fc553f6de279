/*
 * What santad reads of a process from /proc (proc.h): a leaf, any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/*
 * Fields of /proc/PID/stat: 22 (starttime) into *start, 7 (tty_nr) into
 * *tty (either may be NULL); 0 when the process is gone. "PID (COMM) S ...":
 * COMM may hold spaces and ')', so the fields count from the last ')'.
 */
int
santad_process_stat(pid_t pid, uint64_t *start, unsigned int *tty)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	if (start)
		*start = 0;
	if (tty)
		*tty = 0;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p && field + 1 == 7 && tty)
			*tty = (unsigned int)strtoul(p + 1, NULL, 10);
	}
	if (!p)
		return -EIO;
	if (start)
		*start = strtoull(p + 1, NULL, 10);
	return 0;
}

uint64_t
santad_process_start(pid_t pid)
{
	uint64_t start;

	(void)santad_process_stat(pid, &start, NULL);
	return start;
}

uint64_t
santad_boottime_to_ticks(uint64_t ns)
{
	long hz = sysconf(_SC_CLK_TCK);

	/* As the kernel's nsec_to_clock_t: whole ticks. */
	return hz > 0 && ns ? ns / (1000000000ULL / (uint64_t)hz) : 0;
}

/* pid's parent, uid and gid from /proc (the exec'ing process, as it was). */
void
santad_process_info(pid_t pid, pid_t *ppid, uid_t *uid, gid_t *gid)
{
	char path[64], buf[2048], *p;
	ssize_t n;
	int fd;

	*ppid = 0;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nPPid:")))
		*ppid = (pid_t)strtol(p + 6, NULL, 10);
	if ((p = strstr(buf, "\nUid:")))
		*uid = (uid_t)strtoul(p + 5, NULL, 10);
	if ((p = strstr(buf, "\nGid:")))
		*gid = (gid_t)strtoul(p + 5, NULL, 10);
}

void
santad_process_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

void
santad_parent_name(const struct proc_info *proc, char *buf, size_t size)
{
	if (proc->parent_name[0])
		snprintf(buf, size, "%s", proc->parent_name);
	else
		santad_process_comm(proc->ppid, buf, size);
}

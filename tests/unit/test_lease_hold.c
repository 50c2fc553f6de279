/*
 * santad's lease keeper (src/santad/lease_hold.c): every exec of a file is
 * followed, a file is let go once its execs settled or at the age bound,
 * and the list of files is capped.
 *
 * An exec that has not settled is played by a child spinning in user space
 * (its syscall file reads "running": maybe inside execve); one that settled
 * by a pid above pid_max (no such process).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/clock.h"
#include "lease_hold.h"

#define BOUND_USEC 10000000 /* any wait for the keeper's thread: 10 s */

/*
 * A process that never leaves userspace once it said so: until then it may
 * block in a syscall (a lock the sanitizer's runtime takes after fork), and
 * a process blocked anywhere but execve counts as settled, which let a file
 * go early now and then (test_full: 1 of 30 runs held 1, not 2).
 */
static pid_t
spinner(void)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Gone with a failed test too, and after 30 s whatever happens. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		(void)!nice(19); /* the keeper and the test come first */
		(void)!write(ready[1], "r", 1);
		for (;;)
			;
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void
stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
some_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static unsigned int
held(struct lease_holds *h)
{
	struct lease_hold_stats st;

	lease_holds_stats(h, &st);
	return st.held;
}

/* Polls (bounded) until at most n files are held; the time it took, or UINT64_MAX. */
static uint64_t
wait_held_at_most(struct lease_holds *h, unsigned int n)
{
	struct timespec ts = { 0, 1000000 };
	uint64_t start = santa_mono_usec();

	while (held(h) > n) {
		if (santa_mono_usec() - start > BOUND_USEC)
			return UINT64_MAX;
		nanosleep(&ts, NULL);
	}
	return santa_mono_usec() - start;
}

/*
 * A job's 65 execs, the one still on its way among the last answered:
 * the file stays held until that one settled, not once the first few did.
 */
static void
test_every_exec_followed(void **state)
{
	pid_t pids[LEASE_HOLD_PIDS_MAX], gone = INT_MAX, child = spinner();
	struct timespec ts = { 0, 200000000 }; /* 200 sweeps */
	struct lease_holds *h;
	unsigned int i;

	(void)state;
	for (i = 0; i < LEASE_HOLD_PIDS_MAX; i++)
		pids[i] = gone - (pid_t)i;
	pids[LEASE_HOLD_PIDS_MAX - 1 - 10] = child; /* looked at after 10 that settled */
	pids[12] = child;
	assert_int_equal(lease_holds_new(16, 60000000, &h), 0);
	lease_holds_add(h, some_fd(), pids, LEASE_HOLD_PIDS_MAX);
	/* A file whose execs all settled goes: proof that the keeper looked (it takes them in order). */
	lease_holds_add(h, some_fd(), &gone, 1);
	assert_int_not_equal(wait_held_at_most(h, 1), UINT64_MAX);
	nanosleep(&ts, NULL);
	assert_int_equal(held(h), 1);
	stop(child);
	assert_int_not_equal(wait_held_at_most(h, 0), UINT64_MAX);
	lease_holds_free(h);
}

/* An exec that never settles: its file goes at the age bound, not before, counted. */
static void
test_age_bound(void **state)
{
	struct lease_hold_stats st;
	struct lease_holds *h;
	pid_t child = spinner();
	uint64_t took;

	(void)state;
	assert_int_equal(lease_holds_new(16, 300000, &h), 0);
	lease_holds_add(h, some_fd(), &child, 1);
	took = wait_held_at_most(h, 0);
	stop(child);
	assert_int_not_equal(took, UINT64_MAX);
	assert_true(took >= 300000 - 2000); /* the add came a moment before the first look */
	lease_holds_stats(h, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.full, 0);
	lease_holds_free(h);
}

/* Past max files the longest-held goes (counted); freeing lets go of the rest. */
static void
test_full(void **state)
{
	struct lease_hold_stats st;
	struct lease_holds *h;
	pid_t child = spinner();
	unsigned int i;

	(void)state;
	assert_int_equal(lease_holds_new(2, 60000000, &h), 0);
	/* The third goes from the list or from the incoming one: either way, counted. */
	for (i = 0; i < 3; i++)
		lease_holds_add(h, some_fd(), &child, 1);
	assert_int_not_equal(wait_held_at_most(h, 2), UINT64_MAX);
	lease_holds_stats(h, &st);
	assert_int_equal(st.held, 2);
	assert_int_equal(st.full, 1);
	lease_holds_free(h);
	stop(child);
	lease_holds_free(NULL);
}

/* lease-break-time and a margin, as this kernel has it. */
static void
test_age_limit(void **state)
{
	FILE *f = fopen("/proc/sys/fs/lease-break-time", "re");
	uint64_t limit = lease_holds_age_limit();
	int sec = 45;

	(void)state;
	if (f) {
		assert_int_equal(fscanf(f, "%d", &sec), 1);
		fclose(f);
	}
	assert_true(limit > (uint64_t)sec * 1000000);
	assert_true(limit <= (uint64_t)sec * 1000000 + 60000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_exec_followed),
		cmocka_unit_test(test_age_bound),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_age_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* A private temporary directory for one cmocka group: created in setup, removed in teardown. */
#ifndef SANTA_TEST_TMPDIR_H
#define SANTA_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

/* Include after defining: static char tmpdir[] = "/tmp/name-XXXXXX"; */

static int
tmpdir_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
tmpdir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif

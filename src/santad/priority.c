#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priority.h"

int
santad_thread_nice(int nice)
{
	/* PRIO_PROCESS with a thread id: Linux keeps niceness per thread. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0)
		return -errno;
	return 0;
}

/*
 * Why the request's own identity rather than a permission check of ours: the
 * kernel's check is the only one that knows ACLs, LSMs, idmapped mounts and
 * network file systems, and it is made at each open of each component, on
 * the object actually opened, so no rename or symlink swap can slip between
 * a check and a use. Adopting the identity takes CAP_SETUID and CAP_SETGID
 * (santad's helper spawner and the systemd unit grant them); the service is
 * uid 0 already, so they add little, and the thread that reads a user's
 * files drops every capability once it is that user.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"

#define CAP_BIT(c) (1U << (c))

static int
caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

/* This thread only (pid 0): capset never touches the other threads. */
static int
caps_set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int
bundle_creds_main(void)
{
	struct __user_cap_data_struct data[2];
	int r;

	r = caps_get(data);
	if (r < 0)
		return r;
	data[0].effective = data[1].effective = 0;
	return caps_set(data);
}

int
bundle_creds_become(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups)
{
	struct __user_cap_data_struct data[2];
	int r;

	r = caps_get(data);
	if (r < 0)
		return r;
	if (uid == 0) {
		data[0].permitted &= CAP_BIT(CAP_DAC_READ_SEARCH);
		data[1].permitted = 0;
		data[0].effective = data[0].permitted;
		data[1].effective = 0;
		data[0].inheritable = data[1].inheritable = 0;
		return caps_set(data);
	}
	data[0].effective = data[0].permitted & (CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETGID));
	data[1].effective = 0;
	r = caps_set(data);
	if (r < 0)
		return r;
	/* The raw system call: glibc's setgroups would change every thread. */
	if (syscall(SYS_setgroups, n_groups, groups) < 0)
		return -errno;
	/* setfsuid and setfsgid say nothing of failure: the next call reports what took. */
	(void)setfsgid(gid);
	if ((gid_t)setfsgid((gid_t)-1) != gid)
		return -EPERM;
	(void)setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid)
		return -EPERM;
	/* The kernel dropped the DAC capabilities at setfsuid; now every other one. */
	data[0].effective = data[0].permitted = data[0].inheritable = 0;
	data[1].effective = data[1].permitted = data[1].inheritable = 0;
	r = caps_set(data);
	if (r < 0)
		return r;
	r = caps_get(data);
	if (r < 0)
		return r;
	return data[0].permitted || data[1].permitted ? -EPERM : 0;
}

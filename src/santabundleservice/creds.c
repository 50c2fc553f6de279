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
#include <stddef.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
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
	/*
	 * A new fs identity resets the process's dumpable flag to
	 * fs.suid_dumpable (1 would let the service's own uid read its memory):
	 * undumpable again, as main made it.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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

/*
 * CAP_SETUID and CAP_SETGID are here to take a client's file system
 * identity, never to become anyone: the real, effective and saved ids stay
 * the service's own user, and no thread's file system identity may become
 * root's (a root client's thread keeps the service's user and
 * CAP_DAC_READ_SEARCH: it reads, it cannot write root's files). A
 * compromised service may still take a non-root user's or group's file
 * system identity: the price of the kernel checking each open for the client.
 */
#if defined(__x86_64__)
#define BUNDLE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BUNDLE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY_NR(nr)                                                     \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                 \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
/* nr with its first argument 0 (as a 32-bit id): refused. */
#define DENY_NR_ARG0_ZERO(nr)                                           \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 3),                 \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),                    \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

int
bundle_creds_lock(void)
{
#ifdef BUNDLE_AUDIT_ARCH
	/* Each DENY_NR_ARG0_ZERO reloads A: the number is read again after it. */
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BUNDLE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* x32's numbers (the same arch, bit 30 set) would slip past the ones below. */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		DENY_NR(__NR_setuid),
		DENY_NR(__NR_setgid),
		DENY_NR(__NR_setreuid),
		DENY_NR(__NR_setregid),
		DENY_NR(__NR_setresuid),
		DENY_NR(__NR_setresgid),
		DENY_NR_ARG0_ZERO(__NR_setfsuid),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY_NR_ARG0_ZERO(__NR_setfsgid),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
#else
	return -ENOTSUP;
#endif
}

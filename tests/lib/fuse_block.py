#!/usr/bin/env python3
# A FUSE filesystem whose lookups stop being answered: the attacker's tool in
# tests/adversarial/fuse_walk.sh. Speaks the kernel's protocol on /dev/fuse
# itself (no libfuse), so it runs as any user in a user namespace of their
# own (FUSE mounts there need no fusermount3).
#
# usage: fuse_block.py DIR SIGDIR   (as the attacker; DIR theirs, empty)
#   Mounts FUSE on DIR with fusermount3 -o allow_other (which needs
#   user_allow_other in /etc/fuse.conf: then root's lookups there are asked
#   of this server too). In it directories DIR/sub0 .. DIR/sub3 exist. Then,
#   in a user and mount namespace of its own, mounts a tmpfs on each, stops
#   answering lookups (each waits until this process dies) and creates
#   SIGDIR/ready; SIGDIR/blocked once a lookup went unanswered. Once
#   SIGDIR/release exists it answers lookups again (the held ones too).
#   Runs until killed (the kernel then fails every waiting request).
import ctypes
import os
import struct
import sys
import threading

from fuse_raw import ENOENT, GETATTR, LOOKUP, ROOT, fusermount, reply, serve

SUBS = 4  # more mounts than santad gives one owner children at once (2)

libc = ctypes.CDLL(None, use_errno=True)
mnt, sig = sys.argv[1], sys.argv[2]
blocking = threading.Event()
held = []  # (unique, node, name) of the lookups not answered while blocking
lock = threading.Lock()


def attr(ino):
	# fuse_attr: ino size blocks atime mtime ctime (u64), their nsecs, mode nlink uid gid
	# rdev blksize flags (u32): a directory of the mounter's (0 in their namespace).
	return struct.pack("=QQQQQQIIIIIIIIII", ino, 0, 0, 0, 0, 0, 0, 0, 0,
			   0o040755, 2, 0, 0, 0, 4096, 0)


def lookup(fd, unique, node, name):
	subs = [b"sub%d" % i for i in range(SUBS)]
	try:
		if node != ROOT or name not in subs:
			reply(fd, unique, ENOENT)
			return
		# fuse_entry_out: nodeid generation entry_valid attr_valid (u64), their nsecs,
		# attr. entry_valid 0: every walk through DIR/subN asks again.
		sub = 2 + subs.index(name)
		reply(fd, unique, body=struct.pack("=QQQQII", sub, 0, 0, 0, 0, 0) + attr(sub))
	except OSError:
		pass  # its asker is gone (killed: the kernel forgot the request)


def release(fd):
	"""Once SIGDIR/release exists: lookups answered again, the held ones first."""
	while not os.path.exists(sig + "/release"):
		threading.Event().wait(0.05)
	with lock:
		blocking.clear()
		for unique, node, name in held:
			lookup(fd, unique, node, name)
		held.clear()


def getattr_(unique, node, uid, body):
	# attr_valid 0: the kernel asks again each time (the test does not rely on it)
	reply(fd, unique, body=struct.pack("=QII", 0, 0, 0) + attr(node))


def lookup_or_hold(unique, node, uid, body):
	name = body.split(b"\0", 1)[0]
	with lock:
		if blocking.is_set():
			if not os.path.exists(sig + "/blocked"):
				open(sig + "/blocked", "w").close()
			held.append((unique, node, name))
			return  # not answered until SIGDIR/release
	lookup(fd, unique, node, name)


def mount(src, target, fstype, opts):
	if libc.mount(src.encode(), target.encode(), fstype.encode(), 6,  # MS_NOSUID|MS_NODEV
		      opts.encode()) != 0:
		sys.exit("mount %s on %s: %s" % (fstype, target, os.strerror(ctypes.get_errno())))


fd = fusermount(mnt, "allow_other,fsname=blocker")
# A user namespace of its own (single-threaded until the server starts), to mount a tmpfs.
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
	sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
for f, line in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid), ("gid_map", "0 %d 1" % gid)):
	with open("/proc/self/" + f, "w") as m:
		m.write(line)
threading.Thread(target=serve, args=(fd, {GETATTR: getattr_, LOOKUP: lookup_or_hold}),
		 daemon=True).start()
for i in range(SUBS):
	mount("under", "%s/sub%d" % (mnt, i), "tmpfs", "mode=0755")
blocking.set()
threading.Thread(target=release, args=(fd,), daemon=True).start()
open(sig + "/ready", "w").close()
threading.Event().wait()

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
import socket
import struct
import subprocess
import sys
import threading

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_STATFS = 1, 2, 3, 17
FUSE_INIT, FUSE_INTERRUPT, FUSE_BATCH_FORGET = 26, 36, 42
IN_HDR = struct.Struct("=IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HDR = struct.Struct("=IiQ")        # len error unique
ENOENT, ENOSYS = 2, 38
ROOT = 1
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


def reply(fd, unique, error=0, body=b""):
	os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(body), -error, unique) + body)


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


def serve(fd):
	while True:
		try:
			buf = os.read(fd, 1 << 20)
		except OSError:
			return  # the connection went (unmounted, aborted)
		n, op, unique, node, _, _, _, _, _ = IN_HDR.unpack_from(buf)
		body = buf[IN_HDR.size:n]
		if op == FUSE_INIT:
			major, minor = struct.unpack_from("=II", body)
			# fuse_init_out: major minor max_readahead flags max_background
			# congestion_threshold max_write time_gran max_pages map_alignment flags2
			# max_stack_depth unused[6]
			reply(fd, unique, body=struct.pack("=IIIIHHIIHHII24x", 7, min(minor, 31), 0, 0,
							  16, 12, 65536, 1, 0, 0, 0, 0))
		elif op == FUSE_GETATTR:
			# attr_valid 0: the kernel asks again each time (the test does not rely on it)
			reply(fd, unique, body=struct.pack("=QII", 0, 0, 0) + attr(node))
		elif op == FUSE_LOOKUP:
			name = body.split(b"\0", 1)[0]
			with lock:
				if blocking.is_set():
					if not os.path.exists(sig + "/blocked"):
						open(sig + "/blocked", "w").close()
					held.append((unique, node, name))
					continue  # not answered until SIGDIR/release
			lookup(fd, unique, node, name)
		elif op in (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT):
			pass  # no reply expected (an interrupted lookup stays unanswered)
		elif op == FUSE_STATFS:
			reply(fd, unique, body=bytes(80))
		else:
			reply(fd, unique, ENOSYS)


def mount(src, target, fstype, opts):
	if libc.mount(src.encode(), target.encode(), fstype.encode(), 6,  # MS_NOSUID|MS_NODEV
		      opts.encode()) != 0:
		sys.exit("mount %s on %s: %s" % (fstype, target, os.strerror(ctypes.get_errno())))


# fusermount3 opens /dev/fuse, mounts, and hands the fd over (_FUSE_COMMFD).
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
subprocess.run(["fusermount3", "-o", "allow_other,fsname=blocker", "--", mnt], check=True,
	       env=dict(os.environ, _FUSE_COMMFD=str(theirs.fileno())), pass_fds=[theirs.fileno()],
	       timeout=30)
_, fds, _, _ = socket.recv_fds(ours, 1, 1)
if not fds:
	sys.exit("fusermount3 sent no fd")
fd = fds[0]
# A user namespace of its own (single-threaded until the server starts), to mount a tmpfs.
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
	sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
for f, line in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid), ("gid_map", "0 %d 1" % gid)):
	with open("/proc/self/" + f, "w") as m:
		m.write(line)
threading.Thread(target=serve, args=(fd,), daemon=True).start()
for i in range(SUBS):
	mount("under", "%s/sub%d" % (mnt, i), "tmpfs", "mode=0755")
blocking.set()
threading.Thread(target=release, args=(fd,), daemon=True).start()
open(sig + "/ready", "w").close()
threading.Event().wait()

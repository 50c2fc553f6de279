#!/usr/bin/env python3
# A FUSE filesystem that never answers root's opens: the attacker's tool in
# tests/adversarial/fuse_stall.sh. Speaks the kernel's protocol on /dev/fuse
# itself (no libfuse).
#
# usage: fuse_hold_open.py DIR SIGDIR PROGRAM   (as the attacker; DIR theirs)
#   Mounts FUSE on DIR with plain fusermount3 (no allow_other: only its
#   owner may use it). DIR/prog holds PROGRAM's bytes (mode 0755). Opens by
#   the owner are answered; an open asked with uid 0 (santad's, made by the
#   kernel for an exec event's fd) is never answered: SIGDIR/blocked is
#   created and the open waits until this process dies. SIGDIR/ready once
#   mounted. Runs until killed (the kernel then fails every waiting request).
import os
import socket
import struct
import subprocess
import sys
import threading

LOOKUP, FORGET, GETATTR, OPEN, READ, STATFS, RELEASE = 1, 2, 3, 14, 15, 17, 18
FLUSH, INIT, INTERRUPT, BATCH_FORGET = 25, 26, 36, 42
IN_HDR = struct.Struct("=IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HDR = struct.Struct("=IiQ")        # len error unique
ENOENT, ENOSYS = 2, 38
ROOT, PROG = 1, 2

mnt, sig, program = sys.argv[1], sys.argv[2], sys.argv[3]
with open(program, "rb") as f:
	data = f.read()
uid, gid = os.getuid(), os.getgid()


def attr(ino):
	# fuse_attr: ino size blocks atime mtime ctime (u64), their nsecs, mode nlink uid gid
	# rdev blksize flags (u32)
	if ino == ROOT:
		return struct.pack("=QQQQQQIIIIIIIIII", ino, 0, 0, 0, 0, 0, 0, 0, 0,
				   0o040755, 2, uid, gid, 0, 4096, 0)
	return struct.pack("=QQQQQQIIIIIIIIII", ino, len(data), (len(data) + 511) // 512, 0, 0, 0,
			   0, 0, 0, 0o100755, 1, uid, gid, 0, 4096, 0)


def reply(fd, unique, error=0, body=b""):
	os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(body), -error, unique) + body)


def serve(fd):
	while True:
		try:
			buf = os.read(fd, 1 << 20)
		except OSError:
			return  # the connection went (unmounted, aborted)
		n, op, unique, node, req_uid, _, _, _, _ = IN_HDR.unpack_from(buf)
		body = buf[IN_HDR.size:n]
		if op == INIT:
			_, minor = struct.unpack_from("=II", body)
			reply(fd, unique, body=struct.pack("=IIIIHHIIHHII24x", 7, min(minor, 31), 65536, 0,
							  16, 12, 65536, 1, 0, 0, 0, 0))
		elif op == GETATTR:
			reply(fd, unique, body=struct.pack("=QII", 1, 0, 0) + attr(node))
		elif op == LOOKUP:
			if node != ROOT or body.split(b"\0", 1)[0] != b"prog":
				reply(fd, unique, ENOENT)
				continue
			reply(fd, unique, body=struct.pack("=QQQQII", PROG, 0, 1, 1, 0, 0) + attr(PROG))
		elif op == OPEN:
			if req_uid == 0:
				open(sig + "/blocked", "w").close()
				continue  # never answered: the open waits until this process dies
			reply(fd, unique, body=struct.pack("=QII", 0, 0, 0))  # fh open_flags padding
		elif op == READ:
			off, size = struct.unpack_from("=QI", body, 8)  # fh offset size
			reply(fd, unique, body=data[off:off + size])
		elif op in (RELEASE, FLUSH):
			reply(fd, unique)
		elif op in (FORGET, BATCH_FORGET, INTERRUPT):
			pass  # no reply expected (an interrupted open stays unanswered)
		elif op == STATFS:
			reply(fd, unique, body=bytes(80))
		else:
			reply(fd, unique, ENOSYS)


# fusermount3 opens /dev/fuse, mounts, and hands the fd over (_FUSE_COMMFD).
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
subprocess.run(["fusermount3", "-o", "fsname=holder", "--", mnt], check=True,
	       env=dict(os.environ, _FUSE_COMMFD=str(theirs.fileno())), pass_fds=[theirs.fileno()],
	       timeout=30)
_, fds, _, _ = socket.recv_fds(ours, 1, 1)
if not fds:
	sys.exit("fusermount3 sent no fd")
threading.Thread(target=serve, args=(fds[0],), daemon=True).start()
open(sig + "/ready", "w").close()
threading.Event().wait()

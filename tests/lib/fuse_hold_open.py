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
import struct
import sys
import threading

from fuse_raw import OPEN, READ, ROOT, fusermount, one_file, reply, serve


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


def open_(unique, node, uid, body):
	if uid == 0:
		open(sig + "/blocked", "w").close()
		return  # never answered: the open waits until this process dies
	reply(conn, unique, body=struct.pack("=QII", 0, 0, 0))  # fh open_flags padding


def read(unique, node, uid, body):
	off, size = struct.unpack_from("=QI", body, 8)  # fh offset size
	reply(conn, unique, body=data[off:off + size])


conn = fusermount(mnt, "fsname=holder")
threading.Thread(target=serve, daemon=True,
		 args=(conn, {**one_file(conn, b"prog", attr), OPEN: open_, READ: read})).start()
open(sig + "/ready", "w").close()
threading.Event().wait()

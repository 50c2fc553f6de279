#!/usr/bin/env python3
# A FUSE filesystem standing for a cold disk that answers no read: the slow
# first load of santad's package view in tests/integration/package_trust_boot.sh.
# Speaks the kernel's protocol on /dev/fuse itself (no libfuse).
#
# usage: fuse_slow_file.py DIR SIGDIR FILE   (as root)
#   Mounts FUSE on DIR with plain fusermount3 (only its owner, root, may use
#   it). DIR/file holds FILE's size (mode 0644, root's). Lookups, attributes
#   and opens are answered; a read is held: SIGDIR/reading is created, and
#   once SIGDIR/release exists every held and later read fails with EIO (the
#   disk gave up). SIGDIR/ready once mounted. Runs until killed.
import os
import struct
import sys
import threading
import time

from fuse_raw import OPEN, READ, ROOT, fusermount, one_file, reply, serve

EIO = 5

mnt, sig, source = sys.argv[1], sys.argv[2], sys.argv[3]
size = os.path.getsize(source)
held = []  # uniques of the reads not answered yet
lock = threading.Lock()


def attr(ino):
	# fuse_attr: ino size blocks atime mtime ctime (u64), their nsecs, mode nlink uid gid
	# rdev blksize flags (u32)
	if ino == ROOT:
		return struct.pack("=QQQQQQIIIIIIIIII", ino, 0, 0, 0, 0, 0, 0, 0, 0,
				   0o040755, 2, 0, 0, 0, 4096, 0)
	return struct.pack("=QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512, 0, 0, 0,
			   0, 0, 0, 0o100644, 1, 0, 0, 0, 4096, 0)


def released():
	return os.path.exists(sig + "/release")


def open_(unique, node, uid, body):
	reply(conn, unique, body=struct.pack("=QII", 0, 0, 0))  # fh open_flags padding


def read(unique, node, uid, body):
	with lock:
		if not released():
			held.append(unique)
			open(sig + "/reading", "w").close()
			return
	reply(conn, unique, EIO)


def release_when_asked():
	# The test's signal is a file; looked for every 50 ms (the server has nothing else to wake it).
	while not released():
		time.sleep(0.05)
	with lock:
		for unique in held:
			reply(conn, unique, EIO)
		held.clear()


conn = fusermount(mnt, "fsname=slowdisk")
threading.Thread(target=serve, daemon=True,
		 args=(conn, {**one_file(conn, b"file", attr), OPEN: open_, READ: read})).start()
threading.Thread(target=release_when_asked, daemon=True).start()
open(sig + "/ready", "w").close()
threading.Event().wait()

# The kernel's FUSE protocol, as much as the tests' servers speak (no
# libfuse): tests/lib/fuse_block.py, fuse_hold_open.py and fuse_slow_file.py
# import it.
import os
import socket
import struct
import subprocess
import sys

IN_HDR = struct.Struct("=IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HDR = struct.Struct("=IiQ")        # len error unique
LOOKUP, FORGET, GETATTR, OPEN, READ, STATFS, RELEASE = 1, 2, 3, 14, 15, 17, 18
FLUSH, INIT, INTERRUPT, BATCH_FORGET = 25, 26, 36, 42
NO_REPLY = (FORGET, BATCH_FORGET, INTERRUPT)  # an interrupted request stays unanswered
ENOENT, ENOSYS = 2, 38
ROOT = 1


def reply(fd, unique, error=0, body=b""):
	os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(body), -error, unique) + body)


def reply_init(fd, unique, body):
	# fuse_init_out: major minor max_readahead flags max_background
	# congestion_threshold max_write time_gran max_pages map_alignment flags2
	# max_stack_depth unused[6]
	_, minor = struct.unpack_from("=II", body)
	reply(fd, unique, body=struct.pack("=IIIIHHIIHHII24x", 7, min(minor, 31), 65536, 0,
					  16, 12, 65536, 1, 0, 0, 0, 0))


def requests(fd):
	"""(op, unique, node, uid, body) of each request, until the connection goes."""
	while True:
		try:
			buf = os.read(fd, 1 << 20)
		except OSError:
			return  # unmounted, aborted
		n, op, unique, node, uid, _, _, _, _ = IN_HDR.unpack_from(buf)
		yield op, unique, node, uid, buf[IN_HDR.size:n]


def serve(fd, handlers):
	"""Answers fd's requests until the connection goes. handlers maps an opcode
	to fn(unique, node, uid, body), which replies (or not: the request waits);
	INIT, STATFS, RELEASE and FLUSH are answered here unless given, the
	requests that take no reply get none, any other ENOSYS."""
	for op, unique, node, uid, body in requests(fd):
		if op in handlers:
			handlers[op](unique, node, uid, body)
		elif op == INIT:
			reply_init(fd, unique, body)
		elif op in NO_REPLY:
			pass
		elif op == STATFS:
			reply(fd, unique, body=bytes(80))
		elif op in (RELEASE, FLUSH):
			reply(fd, unique)
		else:
			reply(fd, unique, ENOSYS)


def one_file(fd, name, attr):
	"""The GETATTR and LOOKUP handlers of a filesystem of one file, name (bytes),
	node 2 in the root: attr(node) gives either's fuse_attr."""
	def getattr_(unique, node, uid, body):
		reply(fd, unique, body=struct.pack("=QII", 1, 0, 0) + attr(node))  # attr_valid 1 s

	def lookup(unique, node, uid, body):
		if node != ROOT or body.split(b"\0", 1)[0] != name:
			reply(fd, unique, ENOENT)
			return
		# fuse_entry_out: nodeid generation entry_valid attr_valid (u64), their nsecs, attr
		reply(fd, unique, body=struct.pack("=QQQQII", 2, 0, 1, 1, 0, 0) + attr(2))
	return {GETATTR: getattr_, LOOKUP: lookup}


def fusermount(mnt, opts):
	"""Mounts FUSE on mnt with fusermount3 -o opts: the connection's fd."""
	# fusermount3 opens /dev/fuse, mounts, and hands the fd over (_FUSE_COMMFD).
	ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
	subprocess.run(["fusermount3", "-o", opts, "--", mnt], check=True,
		       env=dict(os.environ, _FUSE_COMMFD=str(theirs.fileno())),
		       pass_fds=[theirs.fileno()], timeout=30)
	_, fds, _, _ = socket.recv_fds(ours, 1, 1)
	if not fds:
		sys.exit("fusermount3 sent no fd")
	return fds[0]

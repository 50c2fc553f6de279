#!/usr/bin/env python3
"""The Prometheus port's attackers, run as an unprivileged user by metrics.sh.

  prometheus_attacker.py bind PORT STOPFILE OUT
      Tries to bind 127.0.0.1:PORT (SO_REUSEADDR and SO_REUSEPORT) every few
      milliseconds until STOPFILE exists; OUT holds "attempts eaddrinuse". Once
      it binds, it serves made-up numbers there and writes OUT.bound.

  prometheus_attacker.py idle PORT N STOPFILE OUT
      Holds N idle connections to 127.0.0.1:PORT, opening a new one for each
      the server closes, until STOPFILE exists; OUT holds "connects open".
"""
import errno
import os
import selectors
import socket
import sys
import time

FAKE = b'santa_events_total{action_response="BlockBinary"} 999999\n'


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def serve_fake(s, stop):
    s.settimeout(0.2)
    while not os.path.exists(stop):
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(1)
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(FAKE) + FAKE)
        except OSError:
            pass
        c.close()


def bind(port, stop, out):
    attempts = inuse = 0
    last = 0.0
    while not os.path.exists(stop):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        attempts += 1
        try:
            s.bind(("127.0.0.1", port))
            s.listen(16)
        except OSError as e:
            inuse += e.errno == errno.EADDRINUSE
            s.close()
            if time.monotonic() - last > 0.05:
                write(out, f"{attempts} {inuse}\n")
                last = time.monotonic()
            time.sleep(0.002)
            continue
        write(out, f"{attempts} {inuse}\n")
        write(out + ".bound", "bound\n")
        serve_fake(s, stop)
        return
    write(out, f"{attempts} {inuse}\n")


def idle(port, n, stop, out):
    sel = selectors.DefaultSelector()
    connects = 0
    last = 0.0

    def open_one():
        nonlocal connects
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            time.sleep(0.01)
            return
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        connects += 1

    while not os.path.exists(stop):
        while len(sel.get_map()) < n and not os.path.exists(stop):
            open_one()
        for key, _ in sel.select(0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # the server let it go: take the slot again
                sel.unregister(s)
                s.close()
        if time.monotonic() - last > 0.05:
            write(out, f"{connects} {len(sel.get_map())}\n")
            last = time.monotonic()
    write(out, f"{connects} {len(sel.get_map())}\n")


if __name__ == "__main__":
    if sys.argv[1] == "bind":
        bind(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        idle(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])

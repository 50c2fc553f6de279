#!/usr/bin/env python3
"""A Santa sync server for tests: records every request it gets (decoded) as a
JSON line, and answers from a scenario directory that the test may change
between requests.

usage: sync_server.py DIR PORTFILE [TLSDIR]
  SYNC_SERVER_PORT    listen on that port (default: any free one), to come back on it
  TLSDIR/server.pem, server.key: serve HTTPS; TLSDIR/ca.pem: require a client
  certificate signed by it (mTLS)
  DIR/requests.jsonl  one {"stage", "machine_id", "headers", "body", "time"} per request
                      (time: when it arrived, CLOCK_MONOTONIC seconds)
  DIR/preflight.json  the preflight response body (default "{}")
  DIR/rules/N.json    rule download page N (0, 1, ...); absent: {"rules": []}
  DIR/eventupload.json the eventupload response (default "{}")
  DIR/fail            "STAGE STATUS COUNT": answer STATUS to the next COUNT requests of STAGE
                      (STATUS "reset": drop the connection; "truncated": a cut-off body;
                      "hang": answer after 120 s, far past the client's 30 s timeout)
  DIR/xsrf            present: stages answer 403 until the request carries the token
  DIR/xsrf403         present: stages answer 403 carrying the token in an X-XSRF-TOKEN
                      header until the request echoes it there; xsrf/ answers 404
  DIR/NAME.gz         for preflight.json and rules/N.json: sent as it is, gzip-encoded
                      (a small body that inflates to a large one)
The rule page a request gets is chosen by its cursor: "page-N" -> N, none -> 0.
"""
import gzip
import http.server
import json
import os
import sys
import time
import zlib

DIR = sys.argv[1]
TOKEN = "tok-123"
TOKEN_403 = "tok-403"


def read(name, default=None):
    try:
        with open(os.path.join(DIR, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply_file(self, name, default):
        """A stage's answer: NAME.gz as it is (gzip-encoded), else NAME, else default."""
        gz = read(name + ".gz")
        if gz is not None:
            return self.reply(200, gz, {"Content-Encoding": "gzip"})
        return self.reply(200, read(name, default))

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        enc = self.headers.get("Content-Encoding", "")
        if enc == "deflate":
            raw = zlib.decompress(raw)
        elif enc == "gzip":
            raw = gzip.decompress(raw)
        parts = self.path.strip("/").split("/")
        stage, machine = parts[-2], parts[-1]
        body = json.loads(raw) if raw else None
        with open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"stage": stage, "machine_id": machine, "path": self.path,
                                "encoding": enc, "headers": dict(self.headers),
                                "body": body, "time": time.monotonic()}) + "\n")
        if read("xsrf403") is not None:
            if stage == "xsrf":
                return self.reply(404, b"no such endpoint")
            if self.headers.get("X-XSRF-TOKEN") != TOKEN_403:
                return self.reply(403, b"", {"X-XSRF-TOKEN": TOKEN_403})
        if stage == "xsrf":
            return self.reply(200, b"", {"X-XSRF-TOKEN": TOKEN,
                                         "X-XSRF-TOKEN-HEADER": "X-Test-Xsrf"})
        if read("xsrf") is not None and self.headers.get("X-Test-Xsrf") != TOKEN:
            return self.reply(403)
        fail = read("fail")
        if fail:
            fstage, status, count = fail.decode().split()
            if fstage == stage and int(count) > 0:
                with open(os.path.join(DIR, "fail"), "w") as f:
                    f.write("%s %s %d" % (fstage, status, int(count) - 1))
                if status == "hang":  # an answer that comes too late (after the client's timeout)
                    time.sleep(120)
                    return self.reply(200, read("preflight.json", b"{}"))
                if status == "reset":  # the connection dies without an answer
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if status == "truncated":  # fewer bytes than Content-Length promises
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"rules": [')
                    self.close_connection = True
                    return
                return self.reply(int(status), b"error")
        if stage == "preflight":
            return self.reply_file("preflight.json", b"{}")
        if stage == "eventupload":
            return self.reply(200, read("eventupload.json", b"{}"))
        if stage == "ruledownload":
            cursor = (body or {}).get("cursor", "")
            page = int(cursor.split("-")[1]) if cursor.startswith("page-") else 0
            return self.reply_file("rules/%d.json" % page, b'{"rules": []}')
        if stage == "postflight":
            return self.reply(200, b"{}")
        return self.reply(404)


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up on a hung answer (or was killed) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


server = Server(("127.0.0.1", int(os.environ.get("SYNC_SERVER_PORT", "0"))), Handler)
if len(sys.argv) > 3:
    import ssl
    tls = sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(tls, "server.pem"), os.path.join(tls, "server.key"))
    ctx.load_verify_locations(os.path.join(tls, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()

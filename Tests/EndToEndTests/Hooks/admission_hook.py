#!/usr/bin/env python3
"""An admission hook for the end-to-end tests, on a free loopback port.

POST /allow answers 204, /deny 403, /slow sleeps 3 s then answers 204; /pass allows publishes
and plays whose query has pass=yes and denies the rest. Every request is
printed to stdout as one JSON line: path, the parsed body, and whether its X-Sluice-Signature
matches HMAC-SHA256 of the body under the secret given as the first argument. The first line
printed is {"port": N}.
"""
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = sys.argv[1].encode()
# A child of the test process may inherit a signal mask that blocks SIGTERM; the test stops
# this server with SIGTERM.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
lock = threading.Lock()


def emit(record):
    with lock:
        print(json.dumps(record), flush=True)


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length", "0")), 65536)
        body = self.rfile.read(length)
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Sluice-Signature", ""))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        emit({"path": self.path, "body": parsed, "signed": signed})
        if self.path == "/slow":
            time.sleep(3)
        status = 403 if self.path == "/deny" else 204
        if self.path == "/pass" and not (isinstance(parsed, dict) and (
                parsed.get("action") == "publish" or (parsed.get("query") or {}).get("pass") == "yes")):
            status = 403
        self.send_response(status)
        payload = b"denied by test hook" if status == 403 else b""
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
server.daemon_threads = True
emit({"port": server.server_address[1]})
# Bounded: the test stops it, and it never outlives ten minutes.
stopper = threading.Timer(600, server.shutdown)
stopper.daemon = True
stopper.start()
server.serve_forever()

#!/usr/bin/env python3
"""A webhook receiver for the tests: prints every POST it gets as one JSON line (path, the
X-Sluice-* headers, body) and answers 204, or 503 to the first FAIL requests. Ends after
SECONDS (a bound, like every loop in the tests).

    receiver.py PORT [FAIL] [SECONDS]
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
failures = [int(sys.argv[2]) if len(sys.argv) > 2 else 0]
lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 120


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        refused = failures[0] > 0
        failures[0] -= 1
        print(json.dumps({"path": self.path, "event": self.headers.get("X-Sluice-Event"),
                          "delivery": self.headers.get("X-Sluice-Delivery"),
                          "signature": self.headers.get("X-Sluice-Signature"),
                          "contentType": self.headers.get("Content-Type"), "refused": refused, "body": body}), flush=True)
        self.send_response(503 if refused else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
threading.Timer(lifetime, server.shutdown).start()
print(json.dumps({"listening": port}), flush=True)
server.serve_forever()

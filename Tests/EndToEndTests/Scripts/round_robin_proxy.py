#!/usr/bin/env python3
"""A round-robin HTTP load balancer for tests: each request goes to the next backend in turn,
as a CDN or an L7 balancer without sticky sessions would send it.

usage: round_robin_proxy.py SECONDS BACKEND [BACKEND...]   (BACKEND: host:port, loopback only)
Prints "listening PORT" once bound, then one line per request: "STATUS BACKEND PATH".
Serves for at most SECONDS, then exits.
"""
import http.client
import http.server
import ipaddress
import itertools
import sys
import threading

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length"}


def main():
    seconds = float(sys.argv[1])
    backends = sys.argv[2:]
    for backend in backends:
        host = backend.rsplit(":", 1)[0]
        if not ipaddress.ip_address(host).is_loopback:
            sys.exit(f"refusing a backend off loopback: {backend}")
    turn = itertools.cycle(backends)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with lock:
                backend = next(turn)
            host, port = backend.rsplit(":", 1)
            try:
                upstream = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
                upstream.request("GET", self.path, headers=headers)
                response = upstream.getresponse()
                body = response.read()
                status = response.status
                reply = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
                upstream.close()
            except OSError as error:
                status, body, reply = 502, str(error).encode(), [("Content-Type", "text/plain")]
            self.send_response(status)
            for key, value in reply:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f"{status} {backend} {self.path}", flush=True)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    threading.Timer(seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()

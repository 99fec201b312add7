#!/usr/bin/env python3
"""A webhook receiver for the tests (tests/api/webhooks.rs).

Usage: receiver.py MODE [PORT]

Listens on 127.0.0.1:PORT (0: any free port) and prints `listening <port>`
first. Standard input gives the signing secrets, one per line (an endpoint's
`whsec_...`); a request verifies when one of them verifies it with the
`standardwebhooks` package (`Webhook(secret).verify(body, headers)`). Every
request is then printed as one JSON line: path, webhook-id, timestamp,
verified, the status answered and the parsed payload.

Modes:
  ok        204 to every verified request
  flaky     500 to the first two requests of each webhook-id, then 204
  hang      sleeps 30 s before answering (longer than the sender's timeout)
  redirect  302 to /followed on this server (a client that follows shows up)
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks import Webhook
except ImportError:
    print(
        "the Python package standardwebhooks is missing: "
        "python3 -m pip install 'standardwebhooks==1.1.0' (.ci/run installs it)",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(3)

MODE = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
SECRETS = []
SEEN = {}
LOCK = threading.Lock()


def read_secrets():
    for line in sys.stdin:
        line = line.strip()
        if line:
            with LOCK:
                SECRETS.append(line)


def emit(record):
    with LOCK:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        body = b"" if status == 204 else b"answered %d" % status
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        emit({"path": self.path, "method": "GET"})
        self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        msg_id = headers.get("webhook-id")
        verified, payload, error = False, None, None
        with LOCK:
            secrets = list(SECRETS)
        for secret in secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
                break
            except Exception as e:  # noqa: BLE001 - any failure is "not verified"
                error = str(e)
        if not secrets:
            error = "no secret given yet"
        if not verified:
            status = 400
        elif MODE == "flaky":
            with LOCK:
                SEEN[msg_id] = SEEN.get(msg_id, 0) + 1
                n = SEEN[msg_id]
            status = 500 if n <= 2 else 204
        elif MODE == "redirect":
            status = 302
        else:
            status = 204
        record = {
            "path": self.path,
            "method": "POST",
            "id": msg_id,
            "timestamp": headers.get("webhook-timestamp"),
            "verified": verified,
            "status": status,
            "payload": payload,
            "error": None if verified else error,
            "at": time.time(),
        }
        if MODE == "hang":
            emit(dict(record, status=None, hanging=True))
            time.sleep(30)
        emit(record)
        try:
            if status == 302:
                self.answer(302, [("location", "/followed")])
            else:
                self.answer(status)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    threading.Thread(target=read_secrets, daemon=True).start()
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

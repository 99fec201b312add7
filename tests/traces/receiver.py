#!/usr/bin/env python3
"""An OTLP/HTTP trace receiver for the tests (tests/api/traces.rs).

Usage: receiver.py OUT_FILE

Listens on 127.0.0.1 (any free port) and prints `listening <port>` first.
Each `POST /v1/traces` body is decoded with the official OpenTelemetry protobuf
definitions (`opentelemetry-proto`: ExportTraceServiceRequest) and every span in
it is appended to OUT_FILE as one JSON line: trace_id, span_id, parent_span_id
(hex, "" for a root), name, kind (SPAN_KIND_*), service (the resource's
service.name) and attributes (string, int, bool and double values). The answer
is an empty ExportTraceServiceResponse. A body that does not decode is answered
400 and written as {"error": ...}, so that a test sees it.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )
    from opentelemetry.proto.trace.v1.trace_pb2 import Span
except ImportError:
    sys.exit(
        "the Python package opentelemetry-proto is missing: python3 -m pip install "
        "'opentelemetry-proto==1.45.2' (.ci/run installs it)"
    )

OUT = sys.argv[1]
LOCK = threading.Lock()


def value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind in ("string_value", "int_value", "bool_value", "double_value") else str(v)


def attributes(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def lines(request):
    for rs in request.resource_spans:
        service = attributes(rs.resource.attributes).get("service.name", "")
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield {
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "name": s.name,
                    "kind": Span.SpanKind.Name(s.kind),
                    "service": service,
                    "attributes": attributes(s.attributes),
                }


def write(records):
    with LOCK, open(OUT, "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # a body the official definitions cannot read
            write([{"error": f"{type(e).__name__}: {e}"}])
            self.send_response(400)
            self.end_headers()
            return
        write(lines(request))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()

#!/usr/bin/env bash
# Runs schemathesis against a live server on the demo data: every REST operation
# in openapi.yaml is fuzzed; any server error or response outside the spec fails.
# Usage: scripts/schemathesis.sh [path/to/mediadesk]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/mediadesk}
command -v st >/dev/null 2>&1 || python3 -m pip install -q 'schemathesis>=4,<5'
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Fuzzing exercises the handlers, not the rate limiter (it has its own test).
MEDIADESK_WRITE_BURST=1000000 MEDIADESK_WRITES_PER_MINUTE=1000000 \
  MEDIADESK_DATA_DIR="$dir" RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --workers 2 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
# GraphQL has its own tests; schemathesis covers the REST contract.
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" \
  st run openapi.yaml \
  --url "http://127.0.0.1:$port" \
  --exclude-path-regex '^/graphql' \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" \
  --seed 1 \
  --generation-deterministic \
  --request-timeout 10 \
  --workers 1

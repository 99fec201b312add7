#!/usr/bin/env bash
# Runs schemathesis against a live server on the demo data: every REST operation
# in openapi.yaml is fuzzed, anonymously and then signed in as an administrator;
# any server error or response outside the spec fails.
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
# GraphQL has its own tests; schemathesis covers the REST contract. The
# description itself (/api/v1/openapi.yaml, a static document of about 250 KB
# that schemathesis reads back as empty past that size) is checked by
# scripts/contracts.sh (Redocly, openapi-typescript) and tests/api/docs.rs.
fuzz() {
  local examples=$1
  shift
  SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" \
    st run openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --exclude-path-regex '^/graphql|^/api/v1/openapi\.yaml$' \
    --checks server_error_but_unsupported_oembed_format,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "$examples" \
    --seed 1 \
    --generation-deterministic \
    --request-timeout 10 \
    --workers 1 \
    "$@"
}
# First as the public (every write must be refused cleanly) ...
fuzz "${SCHEMATHESIS_EXAMPLES:-40}"
# ... then signed in as an administrator, so the writes run past authentication
# (creates, changes, deletes, imports, users and keys with generated bodies).
key=$(MEDIADESK_DATA_DIR="$dir" RUST_LOG=warn "$bin" key create --role admin --name schemathesis | tail -n1)
token=$(curl -fs "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"api_key\": \"$key\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
fuzz "${SCHEMATHESIS_SIGNED_IN_EXAMPLES:-15}" -H "Authorization: Bearer $token"

#!/usr/bin/env bash
# The widget in a real browser: serves the API (demo data + hostile fixture) and,
# from another origin, a partner page embedding the iframe and embed.js; then runs
# tests/browser/embed.test.mjs in headless Chromium, and docs.test.mjs on the
# REST reference (/api/v1/docs). The screenshots are kept in
# ${ARTIFACTS:-target/artifacts}/: embed.png, docs.png, docs-operation.png.
# Usage: scripts/browser-test.sh [path/to/mediadesk]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$(realpath "${1:-target/debug/mediadesk}")
export ARTIFACTS=${ARTIFACTS:-$root/target/artifacts}
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
api_port=$(free_port)
web_port=$(free_port)
export MEDIADESK_DATA_DIR="$dir/data" RUST_LOG=warn
"$bin" seed
"$bin" import tests/browser/fixture.ndjson
"$bin" serve --bind "127.0.0.1:$api_port" &
api=$!
mkdir -p "$dir/web"
sed "s#__MEDIADESK__#http://127.0.0.1:$api_port#g" tests/browser/partner.html > "$dir/web/partner.html"
python3 -m http.server "$web_port" --bind 127.0.0.1 --directory "$dir/web" >/dev/null 2>&1 &
web=$!
trap 'kill $api $web 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$web_port/partner.html" >/dev/null 2>&1 && break
  sleep 0.2
done
# 127.0.0.1 and localhost are different origins: the partner page is cross-origin.
MEDIADESK_URL="http://127.0.0.1:$api_port" PARTNER_URL="http://localhost:$web_port/partner.html" \
  node --test tests/browser/
echo "screenshots: $ARTIFACTS/embed.png, $ARTIFACTS/docs.png, $ARTIFACTS/docs-operation.png"

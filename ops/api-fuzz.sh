#!/usr/bin/env bash
# Property-based API check with schemathesis: starts `sluice serve` on free loopback ports,
# feeds every operation of /api/v1/openapi.json generated requests, and fails on any 5xx or
# any response that breaks the document's schemas (or a server that stops answering).
#   ops/api-fuzz.sh [EXAMPLES]      default 30 examples per operation, fixed seed
# The server-sent event stream never ends by design, so it is left out (the console test reads it).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${1:-30}
SCHEMATHESIS_VERSION=3.39.16
if ! python3 -m pip show schemathesis 2>/dev/null | grep -q "^Version: $SCHEMATHESIS_VERSION$"; then
    python3 -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

BIN=${SLUICE_BINARY:-.build/debug/sluice}
WORK=$(mktemp -d /tmp/sluice-fuzz.XXXXXX)
KEY="fuzz-$(date +%s%N)"
SLUICE_ADMIN_KEY=$KEY "$BIN" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --data-dir "$WORK/data" \
    --log-level warning > "$WORK/out" 2> "$WORK/err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q "http listening" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep "http listening" "$WORK/out" | sed 's/.*://')

python3 -m schemathesis.cli run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    -H "Authorization: Bearer $KEY" --checks not_a_server_error,response_schema_conformance \
    --exclude-path /api/v1/events/streams \
    --hypothesis-max-examples "$EXAMPLES" --hypothesis-seed 1 --hypothesis-derandomize
if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "ops/api-fuzz.sh: the server died:" >&2
    grep -m3 -A3 "Fatal error" "$WORK/err" >&2 || tail -20 "$WORK/err" >&2
    exit 1
fi

#!/usr/bin/env bash
# What signed play URLs cost (release build, loopback only). Sluice runs on CPU 0 with one event
# loop; ffmpeg (publisher) and wrk (64 keep-alive connections) run on CPU 1. The same channel is
# measured open, then with playback.signedUrls on (token checked on every request, and carried
# into every URI of every playlist served):
#   - a CMAF segment (immutable media: the token check is the only per-request work added)
#   - the LL-HLS video media playlist (non-blocking fetch: check + rewrite per response)
#
#   Benchmarks/access.sh                  # SECONDS_PER_RUN=10
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${SECONDS_PER_RUN:-10}
BIN=${BIN:-.build/release}
WORK=$(mktemp -d /tmp/sluice-access-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/access-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

KEY=sk_bench_$RANDOM$RANDOM
SLUICE_ADMIN_KEY=$KEY taskset -c 0 "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --event-loops 1 \
    --log-level warning --data-dir "$WORK/data" > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice.out" 2>/dev/null && break; sleep 0.1; done
HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
BASE=http://127.0.0.1:$HTTP_PORT
api() { curl -sf -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$BASE$2"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

ID=$(api POST /api/v1/channels '{"name":"bench","outputs":{"flv":true,"llhls":true},"hls":{"listSize":30}}' | json '["id"]')
PUSH=$(api POST "/api/v1/channels/$ID/push-url" | json '["url"]')
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -c:v libx264 -preset ultrafast -tune zerolatency -g 60 \
    -b:v 1000k -c:a aac -b:a 96k -t 300 -f flv "$PUSH" &
PLAYLIST=$BASE/$ID/llhls-video.m3u8
SEGMENT=
for _ in $(seq 200); do
    SEGMENT=$(curl -s "$PLAYLIST" | grep -m1 '^cmaf/.*\.m4s$' || true)
    [[ -n $SEGMENT ]] && break
    sleep 0.1
done
[[ -n $SEGMENT ]] || { echo "no segment listed" >&2; exit 1; }

measure() {  # name url
    local result
    result=$(taskset -c 1 wrk -t1 -c64 -d"${RUN_SECONDS}s" --latency "$2")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$result")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$result")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$result")
    printf '| %-34s | %10s | %8s | %8s | %s |\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" | tee -a "$OUT"
}

{
    echo "# $(date -u) $(nproc) cores; Sluice on CPU 0 (one event loop), wrk -c64 and ffmpeg on CPU 1; ${RUN_SECONDS} s per run"
    echo "| request | requests/s | p50 | p99 | non-2xx |"
    echo "|---|---|---|---|---|"
} | tee "$OUT"
measure "CMAF segment, open channel" "$BASE/$ID/$SEGMENT"
measure "LL-HLS playlist, open channel" "$PLAYLIST"
api PATCH "/api/v1/channels/$ID" '{"playback":{"signedUrls":true}}' > /dev/null
sleep 3  # channel settings are cached for 2 s
QUERY=$(api POST "/api/v1/channels/$ID/play-url" '{"ttlSeconds":3600}' | json '["query"]')
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/$ID/$SEGMENT") == 403 ]] || { echo "unsigned was not refused" >&2; exit 1; }
measure "CMAF segment, signed" "$BASE/$ID/$SEGMENT?$QUERY"
measure "LL-HLS playlist, signed (rewritten)" "$PLAYLIST?$QUERY"
echo "results: $OUT"

#!/usr/bin/env bash
# Recording soak (release build, loopback only): one channel recording MP4 in 10 s segments,
# snapshots every 10 s and VOD HLS, while ffmpeg publishes for SOAK_MINUTES (default 30). Samples
# the server's RSS every 30 s, then checks every MP4 segment is listed once and the listed
# durations add up to the stream's.
#
#   Benchmarks/soak.sh            # SOAK_MINUTES=30
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-30}
BIN=${BIN:-.build/release}
WORK=$(mktemp -d /tmp/sluice-soak.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/soak-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

KEY=sk_soak_$RANDOM$RANDOM
SLUICE_ADMIN_KEY=$KEY "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --log-level warning \
    --data-dir "$WORK/data" > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
SERVER=$!
for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice.out" 2>/dev/null && break; sleep 0.1; done
BASE=http://127.0.0.1:$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
api() { curl -sf -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$BASE$2"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

ID=$(api POST /api/v1/channels '{"name":"soak","record":{"mp4":{"enabled":true,"segmentSeconds":10},"vod":{"enabled":true,"segmentSeconds":10},"snapshots":{"enabled":true,"intervalSeconds":10}}}' | json '["id"]')
PUSH=$(api POST "/api/v1/channels/$ID/push-url" | json '["url"]')
SECONDS_TOTAL=$((MINUTES * 60))
ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -c:v libx264 -preset ultrafast -tune zerolatency -g 30 \
    -b:v 1000k -c:a aac -b:a 96k -t "$SECONDS_TOTAL" -f flv "$PUSH" &
PUBLISHER=$!

{
    echo "# Recording soak: $MINUTES min, MP4 + VOD 10 s segments, snapshots every 10 s, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# minute rss_kib"
    elapsed=0
    while kill -0 "$PUBLISHER" 2>/dev/null && ((elapsed <= SECONDS_TOTAL + 30)); do
        rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER/status")
        printf "%.1f %s\n" "$(echo "$elapsed / 60" | bc -l)" "$rss"
        sleep 30
        elapsed=$((elapsed + 30))
    done
    while kill -0 "$PUBLISHER" 2>/dev/null; do sleep 1; done
    sleep 3
    python3 - "$BASE" "$KEY" "$ID" "$SECONDS_TOTAL" <<'PY'
import json, sys, urllib.request
base, key, channel, expected = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def listing(kind):
    items, after = [], None
    while True:
        url = f"{base}/api/v1/assets?channel={channel}&kind={kind}&limit=500" + (f"&after={after}" if after else "")
        page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})))
        items += page["items"]
        after = page.get("next")
        if not after:
            return items
mp4 = listing("mp4")
ids = [a["id"] for a in mp4]
locations = [a["location"] for a in mp4]
total = sum(a["duration"] for a in mp4)
vod = listing("vod-playlist")
print(f"RESULT mp4_segments={len(mp4)} unique_ids={len(set(ids))} unique_files={len(set(locations))} "
      f"mp4_seconds={total:.1f} stream_seconds={expected:.0f} snapshots={len(listing('snapshot'))} "
      f"vod_recordings={len(vod)} vod_seconds={sum(a['duration'] for a in vod):.1f}")
PY
} | tee "$OUT"
echo "results in $OUT"

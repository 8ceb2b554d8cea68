#!/usr/bin/env bash
# WebRTC (WHEP) benchmark: one ~1.5 Mbit/s stream without B-frames published over RTMP, N WHEP
# viewers (LoadGenerator --play whep: ICE, DTLS and SRTP of its own), the server pinned to CPU 0
# on one event loop and the load generator to CPU 1. Reports the viewers that kept real time and
# the latency Sluice adds from the RTMP message to the last RTP packet of the frame (p50/p95).
# Loopback only.
#
#   Benchmarks/webrtc.sh                       # N = 1 250 500 1000 1500
#   VIEWERS="1 100" RUN_SECONDS=10 Benchmarks/webrtc.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-"1 250 500 1000 1500"}
SECONDS_PER_RUN=${RUN_SECONDS:-20}
BIN=${BIN:-.build/release}
SERVER_CPUS=${SERVER_CPUS:-0}
GENERATOR_CPUS=${GENERATOR_CPUS:-1}
WORK=$(mktemp -d /tmp/sluice-webrtc.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/webrtc-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"  # each viewer is a UDP socket in the generator

FLV=$RESULTS/bench-1500k-nobf.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV" -bf 0

start_sluice() {
    local secret=bench-secret
    taskset -c "$SERVER_CPUS" "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --webrtc-port 0 \
        --event-loops 1 --push-secret "$secret" --log-level warning --data-dir "$WORK/data" > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "webrtc listening" "$WORK/sluice.out" 2>/dev/null && grep -q "http listening" "$WORK/sluice.out" && break; sleep 0.1; done
    RTMP_PORT=$(grep "rtmp listening" "$WORK/sluice.out" | sed 's/.*://')
    HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
    local expires=$(( $(date +%s) + 3600 ))
    local digest
    digest=$(printf '%s' "/stream/bench-$expires-$secret" | md5sum | cut -d' ' -f1)
    PUBLISH="rtmp://127.0.0.1:$RTMP_PORT/stream/bench?sign=$expires-$digest"
}

echo "# $(date -u) $(nproc) cores; server on CPU $SERVER_CPUS (1 loop), generator on CPU $GENERATOR_CPUS; bin $BIN; stream $(du -h "$FLV" | cut -f1) for 30 s, no B-frames; $SECONDS_PER_RUN s per run" | tee "$OUT"
for n in $VIEWERS; do
    start_sluice
    taskset -c "$GENERATOR_CPUS" "$BIN/LoadGenerator" --publish "$PUBLISH" --play whep --play-port "$HTTP_PORT" \
        --file "$FLV" --viewers "$n" --seconds "$SECONDS_PER_RUN" --server-pid "$SERVER_PID" --label sluice-whep \
        | tee -a "$OUT" || echo "sluice-whep viewers=$n failed" | tee -a "$OUT"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
done
echo "results in $OUT"

#!/usr/bin/env bash
# Parked LL-HLS clients on one core (issue 19): N keep-alive HTTP/1.1 clients each hold a blocking
# playlist reload (_HLS_msn/_HLS_part of the next part) on one stream; the report says how late
# each answer came after the first answer for the same part (p50/p95/p99/max), whether every
# client was answered for every part, answers/s, errors, and Sluice's CPU (user/system) and RSS.
# Sluice runs on CPU 0 with one event loop; the Swift load generator (which also publishes the
# ~1.5 Mbit/s 720p30 stream over RTMP, LL-HLS parts of 0.5 s) on CPU 1. Part bodies are not
# fetched: only the parked playlist requests are measured. A fresh server per N. Loopback only.
#
#   Benchmarks/llhls-parked.sh                                  # CLIENTS="1000 5000 10000", 20 s each
#   CLIENTS=200 SECONDS_PER_RUN=10 Benchmarks/llhls-parked.sh   (not SECONDS: bash owns it)
#   BATCH=250 SLUICE_FLAGS="--latency-budget-ms 50" Benchmarks/llhls-parked.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"1000 5000 10000"}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
BATCH=${BATCH:-500}
BIN=${BIN:-.build/release}
SERVER_CPUS=${SERVER_CPUS:-0}
GENERATOR_CPUS=${GENERATOR_CPUS:-1}
SLUICE_FLAGS=${SLUICE_FLAGS:-}
WORK=$(mktemp -d /tmp/sluice-llhls-parked.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/llhls-parked-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"  # each client is a descriptor on both sides
if (( $(ulimit -n) < 10100 )); then echo "warning: ulimit -n is $(ulimit -n); 10 000 clients need more" >&2; fi

FLV=$RESULTS/bench-1500k.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV"

start_sluice() {
    local secret=bench-secret
    rm -rf "$WORK/data"
    # shellcheck disable=SC2086  # SLUICE_FLAGS is a list of words
    taskset -c "$SERVER_CPUS" "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --event-loops 1 \
        --push-secret "$secret" --log-level warning --data-dir "$WORK/data" $SLUICE_FLAGS > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice.out" 2>/dev/null && break; sleep 0.1; done
    if ! grep -q "http listening" "$WORK/sluice.out"; then echo "sluice did not start:" >&2; cat "$WORK/sluice.err" >&2; exit 1; fi
    RTMP_PORT=$(grep "rtmp listening" "$WORK/sluice.out" | sed 's/.*://')
    HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
    local expires=$(( $(date +%s) + 3600 ))
    local digest
    digest=$(printf '%s' "/stream/bench-$expires-$secret" | md5sum | cut -d' ' -f1)
    PUBLISH="rtmp://127.0.0.1:$RTMP_PORT/stream/bench?sign=$expires-$digest"
}

echo "# $(date -u) $(nproc) cores; Sluice on CPU $SERVER_CPUS (1 event loop), generator + publisher on CPU $GENERATOR_CPUS;" \
     "bin $BIN; stream $(du -h "$FLV" | cut -f1) for 30 s, looped; LL-HLS parts 0.5 s; batches of $BATCH;" \
     "$SECONDS_PER_RUN s measured after all clients parked; lateness = answer time - first answer for the same part" | tee "$OUT"
for n in $CLIENTS; do
    start_sluice
    # The generator bounds itself: 60 s per batch to park, then SECONDS_PER_RUN + 1 s.
    taskset -c "$GENERATOR_CPUS" "$BIN/LoadGenerator" --publish "$PUBLISH" --play llhls --play-port "$HTTP_PORT" \
        --file "$FLV" --viewers "$n" --batch "$BATCH" --seconds "$SECONDS_PER_RUN" --server-pid "$SERVER_PID" \
        --label sluice | tee -a "$OUT" || echo "sluice llhls clients=$n failed" | tee -a "$OUT"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
done
echo "results in $OUT"

#!/usr/bin/env bash
# SRT ingest and playback (issue 20), on loopback, server pinned to CPU 0 with one event loop and
# the load (Benchmarks/srt_bench.py, libsrt through ctypes) pinned to CPU 1:
#   1. latency: the benchmark stream published over SRT, HTTP-FLV viewers timing each video frame
#      from its last byte sent to its FLV tag's arrival (same clock): what Sluice adds, p50/p95/p99;
#   2. SRT play: N SRT players of one stream (each muxed its own MPEG-TS), the server's CPU while
#      they play, and so viewers per core; each player's received rate against the published one.
#   BIN=.build/release Benchmarks/srt.sh          (make build-release first; BIN=.build/debug works, slower)
#   VIEWERS="50 100" LATENCY_VIEWERS=5 Benchmarks/srt.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release}
VIEWERS=${VIEWERS:-"25 50 100 200"}
LATENCY_VIEWERS=${LATENCY_VIEWERS:-5}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
SERVER_CPUS=${SERVER_CPUS:-0}
GENERATOR_CPUS=${GENERATOR_CPUS:-1}
[[ -x $BIN/sluice ]] || { echo "srt.sh: no $BIN/sluice (swift build -c release)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/sluice-srt-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/srt-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

FLV=$RESULTS/bench-1500k.flv
TS=$RESULTS/bench-1500k.ts
source Benchmarks/bench-stream.sh
bench_stream "$FLV"
[[ -s $TS ]] || ffmpeg -hide_banner -loglevel error -i "$FLV" -c copy -f mpegts "$TS"

SECRET=bench-secret
start_sluice() {
    taskset -c "$SERVER_CPUS" "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 \
        --event-loops 1 --push-secret "$SECRET" --log-level warning --data-dir "$WORK/data-$1" \
        > "$WORK/sluice-$1.out" 2> "$WORK/sluice-$1.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice-$1.out" 2>/dev/null \
        && grep -q "srt listening" "$WORK/sluice-$1.out" && break; sleep 0.1; done
    SRT_PORT=$(grep "srt listening" "$WORK/sluice-$1.out" | sed 's/.*://')
    HTTP_PORT=$(grep "http listening" "$WORK/sluice-$1.out" | sed 's/.*://')
    local expires=$(( $(date +%s) + 3600 ))
    SIGN="$expires-$(printf '%s' "/stream/bench-$expires-$SECRET" | md5sum | cut -d' ' -f1)"
}

stop_sluice() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

{
    echo "# SRT benchmark $(date -u +%FT%TZ), $(git rev-parse --short HEAD), $BIN"
    echo "## SRT ingest -> HTTP-FLV, $LATENCY_VIEWERS viewers"
    start_sluice latency
    taskset -c "$GENERATOR_CPUS" python3 Benchmarks/srt_bench.py latency --srt-port "$SRT_PORT" \
        --http-port "$HTTP_PORT" --sign "$SIGN" --ts "$TS" --seconds 20 --viewers "$LATENCY_VIEWERS"
    stop_sluice

    echo "## SRT play: N players of one stream, server CPU over $SAMPLE_SECONDS s"
    ticks=$(getconf CLK_TCK)
    for n in $VIEWERS; do
        start_sluice "play-$n"
        : > "$WORK/play-$n.out"
        taskset -c "$GENERATOR_CPUS" python3 Benchmarks/srt_bench.py play --srt-port "$SRT_PORT" --sign "$SIGN" \
            --ts "$TS" --viewers "$n" --seconds $((SAMPLE_SECONDS + 3)) > "$WORK/play-$n.out" 2>&1 &
        load=$!
        for _ in $(seq 300); do grep -q READY "$WORK/play-$n.out" && break; sleep 0.1; done
        grep -q READY "$WORK/play-$n.out" || { cat "$WORK/play-$n.out"; exit 1; }
        sleep 1  # the players' first GOP burst
        before=$(cpu_ticks "$SERVER_PID")
        sleep "$SAMPLE_SECONDS"
        after=$(cpu_ticks "$SERVER_PID")
        wait "$load" || true
        rss=$(awk '/VmRSS/ { print $2 }' "/proc/$SERVER_PID/status")
        awk -v n="$n" -v d=$((after - before)) -v t="$ticks" -v s="$SAMPLE_SECONDS" -v rss="$rss" 'BEGIN {
            cpu = 100 * d / t / s
            printf "players %d  server CPU %.1f %%  viewers per core %s  RSS %d MB\n", n, cpu,
                (cpu > 0 ? sprintf("%.0f", n * 100 / cpu) : "-"), rss / 1024 }'
        grep "player Mbit/s" "$WORK/play-$n.out" || cat "$WORK/play-$n.out"
        stop_sluice
    done
} | tee "$OUT"

#!/usr/bin/env bash
# What packaging on demand saves an API node, and what it costs the first viewer.
#  A cluster on loopback (Tansu, Redis, one `sluice ingest`, one `sluice api`) with STREAMS live
#  streams (ffmpeg publishers copying a small pre-encoded 240p file in real time) and no viewer:
#   1. the API node's CPU (utime+stime from /proc) over MEASURE seconds, after WARMUP seconds;
#   2. the first LL-HLS requests on that (cold) node for PROBES streams: the multivariant
#      playlist, then the video media playlist, then the same two again (warm), timed by curl.
#  For each binary in BINS (label=path), one after another on fresh clusters: e.g. the current
#  build against one of an older commit built in a worktree with its own --scratch-path.
#
#   Benchmarks/packaging.sh    # BINS="on-demand=.build/release/sluice" STREAMS=50 WARMUP=15 MEASURE=30 PROBES=5
set -euo pipefail
cd "$(dirname "$0")/.."

BINS=${BINS:-on-demand=.build/release/sluice}
STREAMS=${STREAMS:-50}
WARMUP=${WARMUP:-15}
MEASURE=${MEASURE:-30}
PROBES=${PROBES:-5}
WORK=$(mktemp -d /tmp/sluice-packaging-bench.XXXXXX)
chmod 711 "$WORK"  # PostgreSQL runs as user postgres under root
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/packaging-$(date -u +%Y%m%dT%H%M%SZ).txt"
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    for pg in "$WORK"/*/postgres; do [[ -d $pg ]] && ./ops/postgres.sh stop "$pg" 2>/dev/null; done
    sleep 0.5
    rm -rf "$WORK"
}
trap cleanup EXIT

FLV=$RESULTS/bench-240p.flv
if [[ ! -s $FLV ]]; then
    ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=426x240:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=44100 -t 20 \
        -c:v libx264 -preset veryfast -g 30 -b:v 300k -maxrate 300k -bufsize 300k \
        -c:a aac -b:a 48k -f flv "$FLV"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; exit 1; }
port_of() { grep "$2 listening" "$1" | sed 's/.*://'; }
SECRET=bench-secret
push_url() { # port, stream
    local expires=$(( $(date +%s) + 3600 ))
    echo "rtmp://127.0.0.1:$1/stream/$2?sign=$expires-$(printf '%s' "/stream/$2-$expires-$SECRET" | md5sum | cut -d' ' -f1)"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
timed() { curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 15 "$1"; }

./ops/install-kafka.sh
# Binaries built elsewhere (a worktree's scratch path) find librdkafka 2.16 here too.
export LD_LIBRARY_PATH=$PWD/.runtime/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "# $(date -u) $(nproc) cores; $STREAMS streams, no viewers; CPU over $MEASURE s after $WARMUP s" | tee "$OUT"
for entry in $BINS; do
    label=${entry%%=*} bin=${entry#*=}
    run=$WORK/$label
    mkdir -p "$run"
    chmod 711 "$run"
    KAFKA=$(free_port) REDIS=$(free_port)
    .runtime/bin/tansu broker --listener-url "tcp://127.0.0.1:$KAFKA" --advertised-listener-url "tcp://127.0.0.1:$KAFKA" \
        --storage-engine memory://tansu/ > "$run/tansu.log" 2>&1 &
    TANSU=$!
    redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly no > "$run/redis.log" 2>&1 &
    REDIS_PID=$!
    PG=$(free_port)
    mkdir -p "$run/postgres"
    ./ops/postgres.sh start "$run/postgres" "$PG" > /dev/null
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA") 2>/dev/null && break; sleep 0.1; done
    "$bin" topics create --kafka "127.0.0.1:$KAFKA" --from topics > /dev/null
    # Binaries from before PostgreSQL (the system of record) ignore SLUICE_DATABASE.
    export SLUICE_KAFKA=127.0.0.1:$KAFKA SLUICE_REDIS=redis://127.0.0.1:$REDIS SLUICE_DATABASE=postgres://postgres@127.0.0.1:$PG/postgres
    "$bin" ingest --host 127.0.0.1 --rtmp-port 0 --push-secret "$SECRET" --log-level warning \
        --data-dir "$run/data" > "$run/ingest.out" 2> "$run/ingest.err" &
    INGEST=$!
    "$bin" api --host 127.0.0.1 --http-port 0 --push-secret "$SECRET" --log-level warning \
        --data-dir "$run/data" > "$run/api.out" 2> "$run/api.err" &
    API=$!
    wait_line "$run/ingest.out" "rtmp listening"
    wait_line "$run/api.out" "http listening"
    RTMP=$(port_of "$run/ingest.out" rtmp) HTTP=$(port_of "$run/api.out" http)
    PUBLISHERS=()
    for i in $(seq "$STREAMS"); do
        ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$FLV" -c copy -t $((WARMUP + MEASURE + 60)) \
            -f flv "$(push_url "$RTMP" "bench$i")" > /dev/null 2>&1 &
        PUBLISHERS+=($!)
    done
    sleep "$WARMUP"
    live=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP/bench$STREAMS/live.flv" --max-time 2 -r 0-0 || true)
    before=$(cpu_ticks "$API") ingest_before=$(cpu_ticks "$INGEST")
    sleep "$MEASURE"
    after=$(cpu_ticks "$API") ingest_after=$(cpu_ticks "$INGEST")
    hz=$(getconf CLK_TCK)
    api_cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v s="$MEASURE" 'BEGIN { printf "%.1f", 100 * t / hz / s }')
    ingest_cpu=$(awk -v t=$((ingest_after - ingest_before)) -v hz="$hz" -v s="$MEASURE" 'BEGIN { printf "%.1f", 100 * t / hz / s }')
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$API/status")
    echo "$label: $STREAMS streams (last one answers $live), API node CPU $api_cpu % of a core, RSS $rss MB; ingest node $ingest_cpu %" | tee -a "$OUT"
    for i in $(seq "$PROBES"); do
        base="http://127.0.0.1:$HTTP/bench$i"
        echo "$label: bench$i cold llhls.m3u8 $(timed "$base/llhls.m3u8") s, llhls-video.m3u8 $(timed "$base/llhls-video.m3u8") s;" \
             "warm $(timed "$base/llhls.m3u8") s, $(timed "$base/llhls-video.m3u8") s" | tee -a "$OUT"
    done
    kill "${PUBLISHERS[@]}" 2>/dev/null || true
    kill "$API" "$INGEST" 2>/dev/null || true
    wait "$API" "$INGEST" 2>/dev/null || true
    kill "$TANSU" "$REDIS_PID" 2>/dev/null || true
    ./ops/postgres.sh stop "$run/postgres"
    wait "${PUBLISHERS[@]}" "$TANSU" "$REDIS_PID" 2>/dev/null || true
done
echo "results in $OUT"

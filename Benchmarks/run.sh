#!/usr/bin/env bash
# Fan-out benchmark: one ~1.5 Mbit/s stream, N viewers, the server pinned to CPU 0 and the load
# generator (publisher and viewers) to CPU 1. Sluice (HTTP-FLV and RTMP play) and nginx-rtmp
# (RTMP play) go through the same generator in the same run. Loopback only.
#
#   Benchmarks/run.sh                 # N = 1 1000 2000 4000 6000 8000
#   VIEWERS="100 1000" RUN_SECONDS=10 Benchmarks/run.sh   (not SECONDS: bash owns it, and it starts at 0)
#   LOOPS=2 SERVER_CPUS=0,1 GENERATOR_CPUS=0,1 Benchmarks/run.sh   (Sluice on two event loops; the
#       generator shares the cores: say so when quoting the numbers)
#   SLUICE_FLAGS="--latency-budget-ms 50" Benchmarks/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-"1 1000 2000 4000 6000 8000"}
SECONDS_PER_RUN=${RUN_SECONDS:-${SECONDS_PER_RUN:-20}}
TARGETS=${TARGETS:-"sluice-flv sluice-rtmp nginx-rtmp"}
BIN=${BIN:-.build/release}
LOOPS=${LOOPS:-1}
SERVER_CPUS=${SERVER_CPUS:-0}
GENERATOR_CPUS=${GENERATOR_CPUS:-1}
SLUICE_FLAGS=${SLUICE_FLAGS:-}
WORK=$(mktemp -d /tmp/sluice-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"  # each viewer is a descriptor on both sides

FLV=$RESULTS/bench-1500k.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_sluice() {
    local secret=bench-secret
    # Builds with SRT listen on 10080/udp by default: pick a free port instead (older builds lack the flag).
    local srt=()
    if "$BIN/sluice" serve --help 2>/dev/null | grep -q -- --srt-port; then srt=(--srt-port 0); fi
    # shellcheck disable=SC2086  # SLUICE_FLAGS is a list of words
    taskset -c "$SERVER_CPUS" "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --event-loops "$LOOPS" \
        --push-secret "$secret" --log-level warning --data-dir "$WORK/data" "${srt[@]}" $SLUICE_FLAGS > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice.out" 2>/dev/null && break; sleep 0.1; done
    RTMP_PORT=$(grep "rtmp listening" "$WORK/sluice.out" | sed 's/.*://')
    HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
    local expires=$(( $(date +%s) + 3600 ))
    local digest
    digest=$(printf '%s' "/stream/bench-$expires-$secret" | md5sum | cut -d' ' -f1)
    PUBLISH="rtmp://127.0.0.1:$RTMP_PORT/stream/bench?sign=$expires-$digest"
}

start_nginx() {
    RTMP_PORT=$(free_port)
    mkdir -p "$WORK/nginx"
    cat > "$WORK/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 20000; }
rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        chunk_size 4096;
        application live { live on; }
    }
}
CONF
    taskset -c "$SERVER_CPUS" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
    SERVER_PID=$!
    sleep 0.5
    PUBLISH="rtmp://127.0.0.1:$RTMP_PORT/live/bench"
}

echo "# $(date -u) $(nproc) cores; server on CPU $SERVER_CPUS ($LOOPS loop(s)), generator on CPU $GENERATOR_CPUS; bin $BIN; stream $(du -h "$FLV" | cut -f1) for 30 s; $SECONDS_PER_RUN s per run" | tee "$OUT"
for n in $VIEWERS; do
    for target in $TARGETS; do
        case $target in
            sluice-flv) start_sluice; PLAY=flv; PLAY_PORT=$HTTP_PORT ;;
            sluice-rtmp) start_sluice; PLAY=rtmp; PLAY_PORT=$RTMP_PORT ;;
            nginx-rtmp) start_nginx; PLAY=rtmp; PLAY_PORT=$RTMP_PORT ;;
        esac
        taskset -c "$GENERATOR_CPUS" "$BIN/LoadGenerator" --publish "$PUBLISH" --play "$PLAY" --play-port "$PLAY_PORT" \
            --file "$FLV" --viewers "$n" --seconds "$SECONDS_PER_RUN" --server-pid "$SERVER_PID" --label "$target" \
            | tee -a "$OUT" || echo "$target viewers=$n failed" | tee -a "$OUT"
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    done
done
echo "results in $OUT"

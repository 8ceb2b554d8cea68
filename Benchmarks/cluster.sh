#!/usr/bin/env bash
# What Kafka adds to live latency, and how much media one ingest node can put into it.
#  1. Server-added latency, ingest -> viewer: LoadGenerator publishes the benchmark FLV over
#     RTMP and times each video frame to its arrival at HTTP-FLV viewers (same clock), first
#     through `sluice serve` (embedded bus), then through a cluster on loopback (Tansu, Redis,
#     `sluice ingest`, `sluice api`): publish to the ingest node, play from the API node.
#  2. BusBench: K synthetic streams at a bit rate into Kafka from one producer, K doubling until
#     the producer's queue backs up.
#
#   Benchmarks/cluster.sh        # VIEWERS=20 RUN_SECONDS=20 KBPS=2500 STEPS=1,16,64,256,384,512,768,1024 (bash owns $SECONDS)
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-20}
SECONDS_PER_RUN=${RUN_SECONDS:-20}
KBPS=${KBPS:-2500}
STEPS=${STEPS:-1,16,64,256,384,512,768,1024}
BIN=${BIN:-.build/release}
WORK=$(mktemp -d /tmp/sluice-cluster-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/cluster-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$WORK"' EXIT

FLV=$RESULTS/bench-1500k.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; exit 1; }
port_of() { grep "$2 listening" "$1" | sed 's/.*://'; }
SECRET=bench-secret
push_url() { # port
    local expires=$(( $(date +%s) + 3600 ))
    echo "rtmp://127.0.0.1:$1/stream/bench?sign=$expires-$(printf '%s' "/stream/bench-$expires-$SECRET" | md5sum | cut -d' ' -f1)"
}
load() { # label, publish url, http port, server pid
    "$BIN/LoadGenerator" --publish "$2" --play flv --play-port "$3" --file "$FLV" --viewers "$VIEWERS" \
        --seconds "$SECONDS_PER_RUN" --server-pid "$4" --label "$1" | tee -a "$OUT"
}

echo "# $(date -u) $(nproc) cores; $VIEWERS HTTP-FLV viewers, $SECONDS_PER_RUN s per run" | tee "$OUT"

# 1a. One process, embedded bus.
"$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --push-secret "$SECRET" --log-level warning \
    --data-dir "$WORK/serve" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVE=$!
wait_line "$WORK/serve.out" "http listening"
load "embedded" "$(push_url "$(port_of "$WORK/serve.out" rtmp)")" "$(port_of "$WORK/serve.out" http)" "$SERVE"
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true

# 1b. A cluster: the viewers' API node reads the stream from Kafka.
./ops/install-kafka.sh
KAFKA=$(free_port) REDIS=$(free_port)
.runtime/bin/tansu broker --listener-url "tcp://127.0.0.1:$KAFKA" --advertised-listener-url "tcp://127.0.0.1:$KAFKA" \
    --storage-engine memory://tansu/ > "$WORK/tansu.log" 2>&1 &
redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA") 2>/dev/null && break; sleep 0.1; done
"$BIN/sluice" topics create --kafka "127.0.0.1:$KAFKA" --from topics > /dev/null
export SLUICE_KAFKA=127.0.0.1:$KAFKA SLUICE_REDIS=redis://127.0.0.1:$REDIS
"$BIN/sluice" ingest --host 127.0.0.1 --rtmp-port 0 --push-secret "$SECRET" --log-level warning \
    --data-dir "$WORK/cluster" > "$WORK/ingest.out" 2> "$WORK/ingest.err" &
"$BIN/sluice" api --host 127.0.0.1 --http-port 0 --push-secret "$SECRET" --log-level warning \
    --data-dir "$WORK/cluster" > "$WORK/api.out" 2> "$WORK/api.err" &
API=$!
wait_line "$WORK/ingest.out" "rtmp listening"
wait_line "$WORK/api.out" "http listening"
load "kafka" "$(push_url "$(port_of "$WORK/ingest.out" rtmp)")" "$(port_of "$WORK/api.out" http)" "$API"

# 2. One producer's media throughput into the same broker.
echo | tee -a "$OUT"
"$BIN/BusBench" "127.0.0.1:$KAFKA" "$KBPS" "$STEPS" 5 | tee -a "$OUT"
echo "results in $OUT"

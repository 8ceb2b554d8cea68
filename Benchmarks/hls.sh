#!/usr/bin/env bash
# HLS / LL-HLS benchmark on a release build (loopback only). One ffmpeg publishes the same
# 720p stream to Sluice and to nginx-rtmp (HLS on, 2 s fragments) at once; servers share CPU 0,
# clients run on CPU 1.
#   1. latency: part availability after its last frame, LL-HLS client latency, classic HLS
#      segment listing delay for Sluice and nginx-rtmp, from the same frames.
#   2. clients: N concurrent LL-HLS clients doing blocking reloads against Sluice on one core.
#
#   Benchmarks/hls.sh                        # CLIENTS="100 300 1000 2000" SECONDS=30
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"100 300 1000 2000"}
RUN_SECONDS=${SECONDS_PER_RUN:-30}
BIN=${BIN:-.build/release}
WORK=$(mktemp -d /tmp/sluice-hls-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/hls-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"

FLV=$RESULTS/bench-1500k.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

secret=bench-secret
taskset -c 0 "$BIN/sluice" serve --host 127.0.0.1 --rtmp-port 0 --http-port 0 --srt-port 0 --event-loops 1 \
    --push-secret "$secret" --log-level warning --data-dir "$WORK/data" > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
SLUICE_PID=$!
for _ in $(seq 100); do grep -q "http listening" "$WORK/sluice.out" 2>/dev/null && break; sleep 0.1; done
RTMP_PORT=$(grep "rtmp listening" "$WORK/sluice.out" | sed 's/.*://')
HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
expires=$(( $(date +%s) + 3600 ))
digest=$(printf '%s' "/stream/bench-$expires-$secret" | md5sum | cut -d' ' -f1)

NGINX_RTMP=$(free_port)
NGINX_HTTP=$(free_port)
mkdir -p "$WORK/nginx" "$WORK/hls"
cat > "$WORK/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
rtmp {
    server {
        listen 127.0.0.1:$NGINX_RTMP;
        chunk_size 4096;
        application live { live on; hls on; hls_path $WORK/hls; hls_fragment 2s; hls_playlist_length 12s; }
    }
}
http {
    access_log off;
    server {
        listen 127.0.0.1:$NGINX_HTTP;
        location / {
            root $WORK/hls;
            types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
            add_header Cache-Control no-cache;
        }
    }
}
CONF
taskset -c 0 nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
sleep 0.5

# One reader, two outputs: both servers get every packet at the same moment.
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$FLV" \
    -c copy -f flv "rtmp://127.0.0.1:$RTMP_PORT/stream/bench?sign=$expires-$digest" \
    -c copy -f flv "rtmp://127.0.0.1:$NGINX_RTMP/live/bench" &
sleep 8

BASE=http://127.0.0.1:$HTTP_PORT/bench
echo "# $(date -u) $(nproc) cores; Sluice release, 1 event loop, CPU 0; 720p30 ~1.5 Mbit/s, 2 s GOP; segments 2 s, parts 0.5 s" | tee "$OUT"
taskset -c 1 python3 Benchmarks/hls_latency.py latency --flv "$BASE/live.flv" --llhls "$BASE/llhls-video.m3u8" \
    --hls "$BASE/live.m3u8" --nginx-hls "http://127.0.0.1:$NGINX_HTTP/bench.m3u8" --seconds "$RUN_SECONDS" | tee -a "$OUT"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SLUICE_PID/stat"; }
for n in $CLIENTS; do
    before=$(cpu_ticks)
    taskset -c 1 python3 Benchmarks/hls_latency.py clients --llhls "$BASE/llhls-video.m3u8" --clients "$n" \
        --seconds "$RUN_SECONDS" | tee -a "$OUT"
    after=$(cpu_ticks)
    echo "  sluice CPU: $(( (after - before) * 100 / $(getconf CLK_TCK) / RUN_SECONDS ))% of one core" | tee -a "$OUT"
done
echo "results in $OUT"

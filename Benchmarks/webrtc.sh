#!/usr/bin/env bash
# WebRTC (WHEP) benchmark: one ~1.5 Mbit/s stream without B-frames published over RTMP, N WHEP
# viewers (LoadGenerator --play whep: ICE, DTLS and SRTP of its own), the server pinned to CPU 0
# on one event loop and the load generator to CPU 1. Reports the viewers that kept real time and
# the latency Sluice adds from the RTMP message to the last RTP packet of the frame (p50/p95).
#
# NETWORK=loopback (default): both on 127.0.0.1. On loopback the kernel runs the viewers'
# receive path (UDP enqueue, wake-ups) in the sender's softirq, so the server's core pays for
# the generator's sockets too.
# NETWORK=veth: each in a network namespace of its own (made here, removed on exit), joined by a
# veth pair (10.199.0.1 ↔ 10.199.0.2) whose receive path is steered (RPS) to the receiver's CPU —
# as a NIC takes it off the sending core. The server's side has UDP segmentation offload off
# (VETH_UDP_OFFLOAD=off, the default), so the kernel cuts GSO datagrams on the server's core as it
# does for a NIC without it; VETH_UDP_OFFLOAD=on leaves that to the receiver, as a NIC with it
# would take it off the host. Needs root, iproute2 and ethtool.
#
#   Benchmarks/webrtc.sh                       # N = 1 250 500 1000 1500
#   VIEWERS="1 100" RUN_SECONDS=10 NETWORK=veth Benchmarks/webrtc.sh
#   GENERATOR_FLAGS="--whep-gro" SERVER_FLAGS="--no-webrtc-gso" Benchmarks/webrtc.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-"1 250 500 1000 1500"}
SECONDS_PER_RUN=${RUN_SECONDS:-20}
BIN=${BIN:-.build/release}
SERVER_CPUS=${SERVER_CPUS:-0}
GENERATOR_CPUS=${GENERATOR_CPUS:-1}
NETWORK=${NETWORK:-loopback}
VETH_UDP_OFFLOAD=${VETH_UDP_OFFLOAD:-off}
[[ $NETWORK == loopback || $NETWORK == veth ]] || { echo "NETWORK is loopback or veth" >&2; exit 1; }
[[ $VETH_UDP_OFFLOAD == on || $VETH_UDP_OFFLOAD == off ]] || { echo "VETH_UDP_OFFLOAD is on or off" >&2; exit 1; }
SERVER_FLAGS=${SERVER_FLAGS:-}
GENERATOR_FLAGS=${GENERATOR_FLAGS:-}
WORK=$(mktemp -d /tmp/sluice-webrtc.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/webrtc-$NETWORK-$(date -u +%Y%m%dT%H%M%SZ).txt"
SERVER_NS=sluice-bench-server
GENERATOR_NS=sluice-bench-viewers
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    rm -rf "$WORK"
    if [[ $NETWORK == veth ]]; then ip netns del "$SERVER_NS" 2>/dev/null || true; ip netns del "$GENERATOR_NS" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The two namespaces and their veth pair; each side's receive path on its own CPU (RPS masks).
make_veth() {
    ip netns del "$SERVER_NS" 2>/dev/null || true
    ip netns del "$GENERATOR_NS" 2>/dev/null || true
    ip netns add "$SERVER_NS"
    ip netns add "$GENERATOR_NS"
    ip link add sbench0 netns "$SERVER_NS" type veth peer name sbench1 netns "$GENERATOR_NS"
    ip -n "$SERVER_NS" addr add 10.199.0.1/30 dev sbench0
    ip -n "$GENERATOR_NS" addr add 10.199.0.2/30 dev sbench1
    for ns in "$SERVER_NS" "$GENERATOR_NS"; do ip -n "$ns" link set lo up; done
    ip -n "$SERVER_NS" link set sbench0 up
    ip -n "$GENERATOR_NS" link set sbench1 up
    ip netns exec "$SERVER_NS" sh -c "printf '%x' \$((1 << $SERVER_CPUS)) > /sys/class/net/sbench0/queues/rx-0/rps_cpus"
    ip netns exec "$GENERATOR_NS" sh -c "printf '%x' \$((1 << $GENERATOR_CPUS)) > /sys/class/net/sbench1/queues/rx-0/rps_cpus"
    ip netns exec "$SERVER_NS" ethtool -K sbench0 tx-udp-segmentation "$VETH_UDP_OFFLOAD" > /dev/null
}

if [[ $NETWORK == veth ]]; then
    [[ $SERVER_CPUS =~ ^[0-9]+$ && $GENERATOR_CPUS =~ ^[0-9]+$ ]] || { echo "NETWORK=veth takes one CPU each" >&2; exit 1; }
    make_veth
    HOST=10.199.0.1
    IN_SERVER_NS=(ip netns exec "$SERVER_NS")
    IN_GENERATOR_NS=(ip netns exec "$GENERATOR_NS")
else
    HOST=127.0.0.1
    IN_SERVER_NS=()
    IN_GENERATOR_NS=()
fi
ulimit -n "$(ulimit -Hn)"  # each viewer is a UDP socket in the generator

FLV=$RESULTS/bench-1500k-nobf.flv
source Benchmarks/bench-stream.sh
bench_stream "$FLV" -bf 0

start_sluice() {
    local secret=bench-secret
    "${IN_SERVER_NS[@]}" taskset -c "$SERVER_CPUS" "$BIN/sluice" serve --host "$HOST" --webrtc-address "$HOST" \
        --rtmp-port 0 --http-port 0 --srt-port 0 --webrtc-port 0 $SERVER_FLAGS \
        --event-loops 1 --push-secret "$secret" --log-level warning --data-dir "$WORK/data" > "$WORK/sluice.out" 2>"$WORK/sluice.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "webrtc listening" "$WORK/sluice.out" 2>/dev/null && grep -q "http listening" "$WORK/sluice.out" && break; sleep 0.1; done
    RTMP_PORT=$(grep "rtmp listening" "$WORK/sluice.out" | sed 's/.*://')
    HTTP_PORT=$(grep "http listening" "$WORK/sluice.out" | sed 's/.*://')
    local expires=$(( $(date +%s) + 3600 ))
    local digest
    digest=$(printf '%s' "/stream/bench-$expires-$secret" | md5sum | cut -d' ' -f1)
    PUBLISH="rtmp://$HOST:$RTMP_PORT/stream/bench?sign=$expires-$digest"
}

echo "# $(date -u) $(nproc) cores; $NETWORK$([[ $NETWORK == veth ]] && echo " (udp offload $VETH_UDP_OFFLOAD)"); server on CPU $SERVER_CPUS (1 loop) $SERVER_FLAGS, generator on CPU $GENERATOR_CPUS $GENERATOR_FLAGS; bin $BIN; stream $(du -h "$FLV" | cut -f1) for 30 s, no B-frames; $SECONDS_PER_RUN s per run" | tee "$OUT"
for n in $VIEWERS; do
    start_sluice
    "${IN_GENERATOR_NS[@]}" taskset -c "$GENERATOR_CPUS" "$BIN/LoadGenerator" --publish "$PUBLISH" --play whep --play-port "$HTTP_PORT" \
        --file "$FLV" --viewers "$n" --seconds "$SECONDS_PER_RUN" --server-pid "$SERVER_PID" --label "sluice-whep-$NETWORK" $GENERATOR_FLAGS \
        | tee -a "$OUT" || echo "sluice-whep viewers=$n failed" | tee -a "$OUT"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
done
echo "results in $OUT"

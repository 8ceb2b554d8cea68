#!/usr/bin/env bash
# Instructions per delivered frame per viewer in the fan-out, counted by callgrind (repeatable
# on a shared machine, unlike seconds), broken down by stage, plus the syscalls per window.
# FanoutBench (Benchmarks/FanoutBench) attaches N loopback TCP viewers to a real StreamFanout
# and feeds it W windows of K frames of the benchmark stream; a run with no windows is the
# baseline, so setup cancels out: (Ir(W) - Ir(0)) / (N x W x K).
#
#   Benchmarks/callgrind.sh                       (BIN=.build/release; VIEWERS=1000 WINDOWS=40 FRAMES_PER_WINDOW=4)
#   BIN=/tmp/before/.build/release Benchmarks/callgrind.sh     (another build, same stream)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release}
VIEWERS=${VIEWERS:-1000}
WINDOWS=${WINDOWS:-40}
K=${FRAMES_PER_WINDOW:-4}
FORMATS=${FORMATS:-"flv rtmp"}
FLV=Benchmarks/results/bench-1500k.flv
WORK=$(mktemp -d /tmp/sluice-callgrind.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"
export PATH=/opt/swift/usr/bin:$PATH

source Benchmarks/bench-stream.sh
bench_stream "$FLV"

# valgrind 3.19 cannot read the DWARF 5 of this toolchain: it gets a copy without debug
# information (function names come from the symbol table).
BENCH=$WORK/FanoutBench
objcopy --strip-debug "$BIN/FanoutBench" "$BENCH"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

serve() {  # command prefix... -- format windows; the viewers come from a drain started here
    local format=$1 windows=$2; shift 2
    local port; port=$(free_port)
    "$BENCH" drain --port "$port" --viewers "$VIEWERS" > /dev/null 2>&1 &
    local drain=$!
    "$@" "$BENCH" serve --viewers "$VIEWERS" --windows "$windows" --frames-per-window "$K" \
        --format "$format" --flv "$FLV" --port "$port" --drain external
    kill "$drain" 2>/dev/null || true
    wait "$drain" 2>/dev/null || true
}

run() {  # format windows -> callgrind output file
    serve "$1" "$2" valgrind --tool=callgrind --callgrind-out-file="$WORK/$1-$2.out" > /dev/null 2> "$WORK/$1-$2.err"
    callgrind_annotate --inclusive=yes --threshold=100 "$WORK/$1-$2.out" 2>/dev/null \
        | swift demangle --simplified > "$WORK/$1-$2.txt"
}

syscalls() {  # format -> writes per window per viewer, from strace
    serve "$1" "$WINDOWS" strace -f -c -e trace=write,writev,sendmsg -o "$WORK/$1.strace" > /dev/null 2>&1 || true
    awk '$NF ~ /^(write|writev|sendmsg)$/ { calls += $4 } END { print calls + 0 }' "$WORK/$1.strace"
}

echo "# $(date -u) callgrind: $VIEWERS viewers, $WINDOWS windows of $K frames, bin $BIN ($(git -C "$(dirname "$BIN")/../.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
for format in $FORMATS; do
    run "$format" 0
    run "$format" "$WINDOWS"
    python3 Benchmarks/callgrind_stages.py "$WORK/$format-0.txt" "$WORK/$format-$WINDOWS.txt" \
        --deliveries $(( VIEWERS * WINDOWS * K )) --format "$format"
    if command -v strace > /dev/null; then
        echo "$format: write/writev syscalls in the run (setup included): $(syscalls "$format")"
    fi
done

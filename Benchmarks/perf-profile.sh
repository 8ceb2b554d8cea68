#!/usr/bin/env bash
# Where the server's core goes at N viewers, kernel included (callgrind sees only user space):
# runs one Benchmarks/run.sh point (server on CPU 0, generator on CPU 1) and samples CPU 0 with
# `perf record -e cpu-clock` for 10 s while the viewers play, then sorts the samples into stages.
# On loopback the receiving half of TCP (softirq) often runs on the sender's core, so part of
# the server core's kernel time is the viewers' receive path; the stages say which part.
#
#   VIEWERS=4000 TARGET=sluice-flv Benchmarks/perf-profile.sh          (BIN=.build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-4000}
TARGET=${TARGET:-sluice-flv}
WORK=$(mktemp -d /tmp/sluice-perf.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

VIEWERS=$VIEWERS TARGETS=$TARGET RUN_SECONDS=25 Benchmarks/run.sh > "$WORK/run.txt" 2>&1 &
RUN=$!
sleep 14   # server start, 3 s of publishing, the viewers joining
perf record -e cpu-clock -F 1999 -C 0 -g -o "$WORK/perf.data" -- sleep 10 > /dev/null 2>&1
wait "$RUN" || true
grep viewers= "$WORK/run.txt" || cat "$WORK/run.txt"
perf report -i "$WORK/perf.data" --stdio --children --sort sym --percent-limit 0.5 2>/dev/null > "$WORK/children.txt"
perf report -i "$WORK/perf.data" --stdio --no-children --sort dso 2>/dev/null > "$WORK/dso.txt"
python3 Benchmarks/perf_stages.py "$WORK/children.txt" "$WORK/dso.txt"

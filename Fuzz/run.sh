#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build (.build-fuzz/debug/SluiceFuzz) for FUZZ_SECONDS
# each, one after another, and prints one line per target. Exits non-zero when any target
# crashed, leaked, timed out or ran out of memory.
#
#   FUZZ_SECONDS=60 FUZZ_TARGETS="amf0 rtmp-chunk" [FUZZ_BINARY=…] Fuzz/run.sh
#
# Each target starts from a scratch copy of its committed corpus (.build-fuzz/corpus/<target>;
# the committed corpus never grows) and writes crash artifacts to .build-fuzz/artifacts/<target>/.
# Full libFuzzer output: .build-fuzz/logs/<target>.log; the summary lines: .build-fuzz/summary.txt.
set -u -o pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-$(ls Fuzz/Corpus)}
binary=${FUZZ_BINARY:-.build-fuzz/debug/SluiceFuzz}
[ -x "$binary" ] || { echo "no fuzz build at $binary (make fuzz builds it)" >&2; exit 2; }
# libFuzzer prints its own stack for a trap; Swift's backtracer would race it (and trip ASan).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export PATH=/opt/swift/usr/bin:$PATH  # llvm-symbolizer for readable stacks

mkdir -p .build-fuzz/logs
summary=.build-fuzz/summary.txt
: > "$summary"
failed=0
printf '%-18s %12s %10s %8s %8s  %s\n' target executions exec/s cov ft result | tee -a "$summary"
for target in $targets; do
    corpus=.build-fuzz/corpus/$target
    artifacts=.build-fuzz/artifacts/$target/
    log=.build-fuzz/logs/$target.log
    rm -rf "$corpus" && mkdir -p "$corpus" "$artifacts"
    cp Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null
    started=$(date +%s)
    SLUICE_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" > "$log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - started ))
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [ "$status" -eq 0 ]; then
        result="ok (${elapsed} s, no crash)"
    else
        failed=1
        kind=$(grep -m1 -o 'ERROR: [A-Za-z]*: [a-z-]*\|ERROR: libFuzzer: [a-z-]*\|Fatal error: .*' "$log" | head -1)
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FAILED after ${elapsed} s: ${kind:-exit $status}; input ${artifact:-none}; log $log"
    fi
    printf '%-18s %12s %10s %8s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result" \
        | tee -a "$summary"
done
exit $failed

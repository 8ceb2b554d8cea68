#!/usr/bin/env bash
# Runs the end-to-end suite (Tests/EndToEndTests) in lanes that run at the same time: most of
# its time is spent waiting on real-time streams, so on two cores three lanes take about a third
# of the time one does. Within a lane the suites run one after another, one `swift test` process
# each, in the order listed. Fails if any suite fails, or if a suite of the test bundle is in no
# lane or in two (a new suite must be placed here, it is never skipped silently).
#   ops/e2e-lanes.sh            (after `swift build --build-tests`)
#   E2E_LOGS=DIR ops/e2e-lanes.sh   keeps each lane's output in DIR/lane-N.log (default: a temporary folder)
set -uo pipefail
cd "$(dirname "$0")/.."

# Lanes, balanced by the seconds each suite took (every run prints them at its end; move suites
# when the lanes drift apart). On the 2-core machine, with other builds running, the lanes took
# 285, 338 and 337 s, under 6 minutes in all (one lane: 23 minutes). The suites that transcode in a
# debug build take both cores: they sit at the start of lane 1, in the middle of lane 2 and
# late in lane 3, so they never run at once.
LANES=(
    "TranscodeTests CaptionTests WorkerFailoverTests EdgeTests ChannelsTests LivePathTests ReplayTests VODTests S3Tests LiveSettingsTests DVRTests WebRTCTests"
    "HostileClientTests HLSTests MetricsTests RecordingFailoverTests MotionTests RelayTests SnapshotTests WebhookTests MP4RecordingTests HostilePeerTests SRTTests TrickPlayTests"
    "ClusterTests DVRClusterTests PlaybackAccessTests ClusterCommandTests DatabaseRestartTests SharedSessionStateTests DASHClientTests PlayerPageTests ConsoleTests ChannelEventsTests ViewerCountTests DVRPlayerTests WebRTCClusterTests"
)

# Each `swift test` would wait for the others on SwiftPM's lock of .build (it holds it for the
# whole run); --ignore-lock lets the lanes run at once. Nothing is built meanwhile (--skip-build).
SWIFT_TEST=(swift test --skip-build --ignore-lock --disable-xctest)

LOGS=${E2E_LOGS:-$(mktemp -d /tmp/sluice-e2e.XXXXXX)}
mkdir -p "$LOGS"

# Every suite the bundle holds, from the test list (`EndToEndTests.EndToEnd/SUITE/test()`).
listed=$("${SWIFT_TEST[@]}" list 2>"$LOGS/list.err" | sed -n 's|^EndToEndTests\.EndToEnd/\([A-Za-z0-9_]*\)/.*|\1|p' | sort -u)
if [ -z "$listed" ]; then
    echo "e2e-lanes: no end-to-end suites listed (is the build done?)" >&2
    cat "$LOGS/list.err" >&2
    exit 1
fi
placed=$(printf '%s\n' ${LANES[@]} | sort)
missing=$(comm -23 <(echo "$listed") <(echo "$placed" | sort -u))
unknown=$(comm -13 <(echo "$listed") <(echo "$placed" | sort -u))
twice=$(echo "$placed" | uniq -d)
if [ -n "$missing$unknown$twice" ]; then
    [ -n "$missing" ] && echo "e2e-lanes: in no lane (add to LANES in $0):" $missing >&2
    [ -n "$unknown" ] && echo "e2e-lanes: in a lane but not in the test bundle:" $unknown >&2
    [ -n "$twice" ] && echo "e2e-lanes: in more than one lane:" $twice >&2
    exit 1
fi

# Runs one suite of lane $1 ($2) and echoes its exit status. A suite that hangs (a wait with no
# bound of its own) fails after SUITE_TIMEOUT seconds instead of holding the run until CI gives
# up. The three lanes' `swift test` processes start together and may find SwiftPM's build
# database busy ("unable to attach DB"): such a start, which ran nothing, is tried again.
run_suite() {
    local lane=$1 suite=$2 attempt status out="$LOGS/lane-$1.current"
    for attempt in 1 2 3; do
        timeout --kill-after=10 "${SUITE_TIMEOUT:-480}" "${SWIFT_TEST[@]}" --filter "^EndToEndTests\.EndToEnd/$suite/" > "$out" 2>&1
        status=$?
        cat "$out" >> "$LOGS/lane-$lane.log"
        [ $status = 124 ] && echo "e2e-lanes: lane $lane: $suite timed out after ${SUITE_TIMEOUT:-480} s" >> "$LOGS/lane-$lane.log"
        if [ $status = 0 ] || ! grep -q "unable to attach DB" "$out"; then break; fi
        echo "e2e-lanes: lane $lane: $suite found the build database busy; again (attempt $((attempt + 1)))" >> "$LOGS/lane-$lane.log"
        sleep $((attempt * 3))
    done
    echo "$status"
}

# Runs lane $1's suites in order; writes one `SUITE SECONDS STATUS` line per suite to lane-N.times.
run_lane() {
    local lane=$1 suite started status seconds
    shift
    : > "$LOGS/lane-$lane.times"
    for suite in "$@"; do
        started=$(date +%s)
        status=$(run_suite "$lane" "$suite")
        seconds=$(( $(date +%s) - started ))
        echo "$suite $seconds $status" >> "$LOGS/lane-$lane.times"
        echo "e2e-lanes: lane $lane: $suite $([ "$status" = 0 ] && echo passed || echo FAILED) after $seconds s"
    done
}

began=$(date +%s)
pids=()
for index in "${!LANES[@]}"; do
    run_lane $((index + 1)) ${LANES[$index]} &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

failed=0
for index in "${!LANES[@]}"; do
    lane=$((index + 1))
    echo "===== e2e lane $lane output ($LOGS/lane-$lane.log) ====="
    cat "$LOGS/lane-$lane.log"
done
echo "===== e2e lanes: $(( $(date +%s) - began )) s in all ====="
for index in "${!LANES[@]}"; do
    lane=$((index + 1))
    awk -v lane="$lane" '{ total += $2; printf "lane %s  %-26s %4d s  %s\n", lane, $1, $2, ($3 == 0 ? "passed" : "FAILED") }
                         END { printf "lane %s  %-26s %4d s\n", lane, "(all)", total }' "$LOGS/lane-$lane.times"
    if awk '$3 != 0 { bad = 1 } END { exit !bad }' "$LOGS/lane-$lane.times"; then failed=1; fi
    if [ "$(wc -l < "$LOGS/lane-$lane.times")" -ne "$(echo ${LANES[$index]} | wc -w)" ]; then failed=1; fi
done
[ $failed = 0 ] || echo "e2e-lanes: FAILED:" $(awk '$3 != 0 { print $1 }' "$LOGS"/lane-*.times) >&2
exit $failed

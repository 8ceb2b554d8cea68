#!/usr/bin/env bash
# Sluice's transcoding pipeline against the ffmpeg command line doing the identical ladder with
# the same x264 settings, on the same machine in the same run (release build, files only, no
# network). For each source (720p30 and 1080p30 testsrc2, 20 s, made once by ffmpeg):
#   - throughput: source frames per second through decode + scale + encode of every rendition,
#     best of RUNS alternating runs of each; ratio = Sluice / ffmpeg
#   - latency: frames fed at their own pace; time from a frame's arrival until every rendition
#     has encoded it (p50/p95/max)
# Both sides: libx264 veryfast + zerolatency, template bit rates, VBV 1.5x, bicubic scaling,
# keyframes forced where the source has them, no scene cuts.
#
#   Benchmarks/transcode.sh              # RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
BIN=${BIN:-.build/release}
WORK=$(mktemp -d /tmp/sluice-transcode-bench.XXXXXX)
RESULTS=Benchmarks/results
mkdir -p "$RESULTS"
OUT="$RESULTS/transcode-$(date -u +%Y%m%dT%H%M%SZ).txt"
trap 'rm -rf "$WORK"' EXIT

# name width height bitrate for every template rendition
declare -A WIDTH=([360p]=640 [480p]=854 [720p]=1280 [1080p]=1920)
declare -A HEIGHT=([360p]=360 [480p]=480 [720p]=720 [1080p]=1080)
declare -A RATE=([360p]=400 [480p]=600 [720p]=1000 [1080p]=2000)

ffmpeg_ladder() {  # source renditions...
    local source=$1
    shift
    local count=$#
    local graph="[0:v]split=$count"
    local maps=()
    for index in $(seq 0 $((count - 1))); do graph+="[s$index]"; done
    graph+=";"
    local index=0
    for name in "$@"; do
        graph+="[s$index]scale=${WIDTH[$name]}:${HEIGHT[$name]}:flags=bicubic,format=yuv420p[o$index];"
        maps+=(-map "[o$index]" -c:v libx264 -preset veryfast -tune zerolatency -b:v "${RATE[$name]}k"
               -maxrate "$((RATE[$name] * 3 / 2))k" -bufsize "$((RATE[$name] * 3 / 2))k" -bf 0 -g 300
               -x264-params scenecut=0 -forced-idr 1 -force_key_frames source -f null /dev/null)
        index=$((index + 1))
    done
    ffmpeg -hide_banner -loglevel error -y -i "$source" -an -filter_complex "${graph%;}" "${maps[@]}"
}

seconds_of() {  # command... -> wall seconds
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

{
    echo "# Transcoding: Sluice pipeline vs ffmpeg CLI, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores"
    echo "# $(ffmpeg -version | head -1)"
    for source in 720 1080; do
        case $source in
            720) size=1280x720; ladder=(360p 480p 720p) ;;
            1080) size=1920x1080; ladder=(360p 480p 720p 1080p) ;;
        esac
        file="$WORK/source-${source}p.flv"
        ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc2=size=$size:rate=30" -f lavfi \
            -i sine=frequency=440:sample_rate=48000 -t 20 -c:v libx264 -preset veryfast -g 60 -bf 0 -b:v 6000k \
            -c:a aac -b:a 128k -f flv "$file"
        list=$(IFS=,; echo "${ladder[*]}")
        best_sluice=0
        best_ffmpeg=0
        for run in $(seq "$RUNS"); do
            sluice=$("$BIN/TranscodeBench" throughput "$file" "$list")
            sluice_fps=$(echo "$sluice" | sed 's/.* fps=\([0-9.]*\).*/\1/')
            frames=$(echo "$sluice" | sed 's/.* frames=\([0-9]*\).*/\1/')
            ffmpeg_seconds=$(seconds_of ffmpeg_ladder "$file" "${ladder[@]}")
            ffmpeg_fps=$(echo "$frames / $ffmpeg_seconds" | bc -l)
            printf "source=%sp ladder=%s run=%d sluice_fps=%.1f ffmpeg_fps=%.1f\n" "$source" "$list" "$run" "$sluice_fps" "$ffmpeg_fps"
            best_sluice=$(echo "if ($sluice_fps > $best_sluice) $sluice_fps else $best_sluice" | bc -l)
            best_ffmpeg=$(echo "if ($ffmpeg_fps > $best_ffmpeg) $ffmpeg_fps else $best_ffmpeg" | bc -l)
        done
        printf "RESULT source=%sp ladder=%s sluice_fps=%.1f ffmpeg_fps=%.1f ratio=%.3f sluice_realtime=%.2fx ffmpeg_realtime=%.2fx\n" \
            "$source" "$list" "$best_sluice" "$best_ffmpeg" "$(echo "$best_sluice / $best_ffmpeg" | bc -l)" \
            "$(echo "$best_sluice / 30" | bc -l)" "$(echo "$best_ffmpeg / 30" | bc -l)"
        if [[ $source == 720 ]]; then
            echo "RESULT source=${source}p ladder=$list $("$BIN/TranscodeBench" latency "$file" "$list")"
        fi
    done
} | tee "$OUT"
echo "results in $OUT"

# Sourced by the benchmark scripts: the one benchmark stream, made by ffmpeg on first use.
# 30 s of 720p30 H.264 (2 s GOP) at ~1.4 Mbit/s plus 96 kbit/s AAC: ~1.5 Mbit/s in all.
#   bench_stream PATH [FFMPEG OPTION…]   (writes PATH unless it is there already; the options
#                                         go to the video encoder, e.g. -bf 0 for WebRTC)
bench_stream() {
    [[ -s $1 ]] && return 0
    local path=$1
    shift
    mkdir -p "$(dirname "$path")"
    ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=44100 -t 30 \
        -c:v libx264 -preset veryfast -g 60 -b:v 1400k -maxrate 1400k -bufsize 1400k "$@" \
        -c:a aac -b:a 96k -f flv "$path"
}

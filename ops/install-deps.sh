#!/usr/bin/env bash
# Installs what Sluice needs to build, run and test on Debian 12. Idempotent: packages
# already present are skipped, and apt-get runs only when something is missing.
set -euo pipefail

# chromium and its driver run the player pages in the end-to-end tests; nginx-rtmp is a relay
# destination in them (and the benchmarks' point of comparison).
# FFmpeg's libraries are the transcoder; Noto CJK draws text watermarks in any script.
# zbarimg decodes the console's QR codes in the tests; hiredis is the Redis client library, and
# redis-server the real Redis the session-state tests run against; librdkafka-dev gives the
# Kafka client's headers (the library itself comes from ops/install-kafka.sh); postgresql (15)
# is a cluster's metadata database, which the store tests and make cluster-up start themselves.
# GStreamer is the independent DASH client of the end-to-end tests: plugins-good has dashdemux2
# (adaptivedemux2 in 1.22), qtdemux for the CMAF segments and the AAC parser, plugins-bad the
# H.264 parser, plugins-base decodebin3 and playbin3, and libav decodes H.264 and AAC.
# libsrt-gnutls-dev is the SRT transport (Sources/CSRT): the GnuTLS flavour of libsrt, the one
# FFmpeg's libavformat already loads (with the OpenSSL flavour too, a process holding both crashes
# at exit). It conflicts with libsrt-openssl-dev, which apt removes if present.
# libssl-dev (OpenSSL: DTLS) and libsrtp2-dev (SRTP) are the WebRTC transport (Sources/CDTLS, CSRTP).
packages=(pkg-config ffmpeg curl openssl libsqlite3-dev chromium chromium-driver nginx libnginx-mod-rtmp
          libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev fonts-noto-cjk
          zbar-tools libhiredis-dev redis-server librdkafka-dev python3-pip postgresql
          gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
          gstreamer1.0-libav libsrt-gnutls-dev libssl-dev libsrtp2-dev)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(util-linux wrk bc valgrind strace linux-perf binutils iproute2 ethtool)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "ops/install-deps.sh: installing ${missing[*]}"
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# selenium drives headless Chromium in the player-page tests; prometheus_client's parser checks
# the /metrics exposition; moto's server is the S3 API the storage tests write to (boto3 with it);
# m3u8 and mpegdash are the independent playlist and MPD parsers the packaging tests check with.
for requirement in selenium==4.27.1 prometheus_client==0.21.1 "moto[server]==5.1.22" m3u8==6.0.0 mpegdash==0.4.1; do
    name=${requirement%%==*}
    installed=$(python3 -m pip show "${name%%[*}" 2>/dev/null | sed -n 's/^Version: //p' || true)
    if [[ "$installed" != "${requirement##*==}" ]]; then
        python3 -m pip install -q --disable-pip-version-check "$requirement"
    fi
done

# librdkafka 2.16 and the Tansu broker, into .runtime/ (Debian's librdkafka cannot talk to Tansu).
"$(dirname "$0")/install-kafka.sh"

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    echo "ops/install-deps.sh: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi

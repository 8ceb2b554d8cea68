#!/usr/bin/env bash
# Installs what Sluice needs to build, run and test on Debian 12. Idempotent: packages
# already present are skipped, and apt-get runs only when something is missing.
set -euo pipefail

packages=(pkg-config ffmpeg curl openssl libsqlite3-dev)
if [[ "${1:-}" == "--bench" ]]; then
    # The benchmark compares against nginx-rtmp on the same machine.
    packages+=(nginx libnginx-mod-rtmp util-linux)
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

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    echo "ops/install-deps.sh: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi

#!/usr/bin/env bash
# Stops what ops/cluster-up.sh started (SIGTERM, then SIGKILL after 10 s), newest first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${SLUICE_CLUSTER_DIR:-$root/data/cluster}
[[ -e "$dir/pids" ]] || { echo "cluster-down: nothing running ($dir/pids missing)"; exit 0; }
tac "$dir/pids" | while read -r pid name; do
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "cluster-down: $name did not stop in 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
done
rm -f "$dir/pids"
echo "cluster-down: stopped"

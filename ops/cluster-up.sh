#!/usr/bin/env bash
# Starts a local Sluice cluster on loopback ports: Tansu (Kafka protocol), Redis, PostgreSQL (the
# metadata: channels, keys, settings, assets, webhook deliveries), two ingest nodes, two API nodes
# and a worker node, then prints the URLs. Stop it with ops/cluster-down.sh.
# Logs and pids go to $SLUICE_CLUSTER_DIR (default ./data/cluster), PostgreSQL's files to its
# postgres/ folder. Nodes share data/ only for recorded assets (no metadata is kept there; across
# machines use S3 for assets and nothing is shared but Kafka, Redis and PostgreSQL).
#   SLUICE_BIN       the sluice binary (default: the newer of .build/release/sluice and .build/debug/sluice)
#   SLUICE_PORT_BASE first of the ports used (default 19000): +92 Kafka, +79 Redis, +32 PostgreSQL,
#                    +35/+36 RTMP of ingest A/B, +80/+81 HTTP of API A/B,
#                    +2/+3 status (/healthz, /readyz, /metrics) of ingest A/B, +4 of the worker
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${SLUICE_CLUSTER_DIR:-$root/data/cluster}
base=${SLUICE_PORT_BASE:-19000}
bin=${SLUICE_BIN:-}
if [[ -z "$bin" ]]; then
    bin=$(ls -t "$root/.build/release/sluice" "$root/.build/debug/sluice" 2>/dev/null | head -n 1 || true)
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "cluster-up: no sluice binary (make build, or set SLUICE_BIN)" >&2; exit 1; }
"$root/ops/install-kafka.sh"
command -v redis-server >/dev/null || { echo "cluster-up: redis-server missing (ops/install-deps.sh)" >&2; exit 1; }

kafka_port=$((base + 92)) redis_port=$((base + 79)) postgres_port=$((base + 32))
mkdir -p "$dir/data"
if [[ -e "$dir/pids" ]]; then
    echo "cluster-up: $dir/pids exists; run ops/cluster-down.sh first" >&2
    exit 1
fi
: > "$dir/pids"

wait_port() { # port, what
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "cluster-up: $2 did not listen on $1 (logs in $dir)" >&2
    "$root/ops/cluster-down.sh"
    exit 1
}

start() { # name, command...
    local name=$1
    shift
    "$@" > "$dir/$name.log" 2>&1 &
    echo "$! $name" >> "$dir/pids"
}

start tansu "$root/.runtime/bin/tansu" broker --listener-url "tcp://127.0.0.1:$kafka_port" \
    --advertised-listener-url "tcp://127.0.0.1:$kafka_port" --storage-engine memory://tansu/
wait_port "$kafka_port" Tansu
start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
wait_port "$redis_port" Redis
postgres_pid=$("$root/ops/postgres.sh" start "$dir/postgres" "$postgres_port") || {
    echo "cluster-up: PostgreSQL did not start (logs in $dir/postgres)" >&2
    "$root/ops/cluster-down.sh"
    exit 1
}
echo "$postgres_pid postgres" >> "$dir/pids"
"$bin" topics create --kafka "127.0.0.1:$kafka_port" --from "$root/topics" > "$dir/topics.log"

export SLUICE_KAFKA=127.0.0.1:$kafka_port SLUICE_REDIS=redis://127.0.0.1:$redis_port
export SLUICE_DATABASE=postgres://postgres@127.0.0.1:$postgres_port/postgres
export SLUICE_ADMIN_KEY=${SLUICE_ADMIN_KEY:-sk_cluster_$(openssl rand -hex 16)}
common=(--host 127.0.0.1 --data-dir "$dir/data" --public-host 127.0.0.1 --rtmps-port 0)
start api-a "$bin" api "${common[@]}" --http-port $((base + 80)) --rtmp-port $((base + 35))
wait_port $((base + 80)) "API node A"
start api-b "$bin" api "${common[@]}" --http-port $((base + 81)) --rtmp-port $((base + 35))
start ingest-a "$bin" ingest "${common[@]}" --rtmp-port $((base + 35)) --http-port $((base + 80)) --status-port $((base + 2)) --srt-port $((base + 10))
start ingest-b "$bin" ingest "${common[@]}" --rtmp-port $((base + 36)) --http-port $((base + 80)) --status-port $((base + 3)) --srt-port $((base + 11))
start worker "$bin" worker "${common[@]}" --rtmp-port $((base + 35)) --http-port $((base + 80)) --status-port $((base + 4))
wait_port $((base + 81)) "API node B"
wait_port $((base + 35)) "ingest node A"
wait_port $((base + 36)) "ingest node B"

cat <<TEXT
Sluice cluster up (logs and pids in $dir):
  Kafka (Tansu)  127.0.0.1:$kafka_port     Redis  redis://127.0.0.1:$redis_port
  PostgreSQL     $SLUICE_DATABASE
  Ingest nodes   rtmp://127.0.0.1:$((base + 35))  rtmp://127.0.0.1:$((base + 36))
  API nodes      http://127.0.0.1:$((base + 80))  http://127.0.0.1:$((base + 81))  (console: /console/)
  Admin API key  $SLUICE_ADMIN_KEY
TEXT
sed -n '/^Channel /,/^Console/p' "$dir/api-a.log"
echo "Push to either ingest node; play from either API node. Stop with ops/cluster-down.sh."

#!/usr/bin/env bash
# A PostgreSQL 15 (Debian's postgresql package) for a local cluster, without systemd:
#   ops/postgres.sh start DIR PORT   makes the cluster in DIR/data on first use (initdb, trust
#                                    authentication for user postgres on loopback only), starts
#                                    it on 127.0.0.1:PORT and prints the postmaster's pid
#   ops/postgres.sh stop DIR         stops it (fast shutdown)
# PostgreSQL refuses to run as root: under root the server runs as user postgres, which must be
# able to reach DIR. Nodes connect with --database postgres://postgres@127.0.0.1:PORT/postgres.
set -euo pipefail

bin=${SLUICE_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$bin/pg_ctl" ]] || { echo "postgres.sh: no PostgreSQL 15 in $bin (ops/install-deps.sh)" >&2; exit 1; }

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

command=${1:-}
dir=${2:-}
[[ -n "$command" && -n "$dir" ]] || { echo "usage: ops/postgres.sh start DIR PORT | stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$dir"; fi

case "$command" in
start)
    port=${3:?ops/postgres.sh start DIR PORT}
    as_owner test -w "$dir" || { echo "postgres.sh: user postgres cannot write $dir" >&2; exit 1; }
    if [[ ! -e "$dir/data/PG_VERSION" ]]; then
        as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-instructions > "$dir/initdb.log"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start > /dev/null
    head -n 1 "$dir/data/postmaster.pid"
    ;;
stop)
    if [[ -e "$dir/data/postmaster.pid" ]]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null; fi
    ;;
*)
    echo "usage: ops/postgres.sh start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac

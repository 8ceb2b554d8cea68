#ifndef SLUICE_CRDKAFKA_SHIM_H
#define SLUICE_CRDKAFKA_SHIM_H
// Compiled against Debian's librdkafka 2.0.2 headers; run with librdkafka 2.16 from
// .runtime/lib (see ops/install-kafka.sh), which the rpath in Package.swift finds first.
#include <librdkafka/rdkafka.h>
#endif

#ifndef SLUICE_CSRT_SHIM_H
#define SLUICE_CSRT_SHIM_H
// libsrt 1.5 (Debian's libsrt-gnutls-dev, pkg-config `srt`): the SRT API and the reject reasons of
// the access-control convention (SRT_REJX_*). The GnuTLS flavour because FFmpeg's libavformat
// already loads libsrt-gnutls: with the OpenSSL flavour as well, one process holds two copies of
// libsrt whose exported symbols interpose each other, and it crashes at exit (a C++ static is
// destroyed twice).
#include <srt/srt.h>
#include <srt/access_control.h>
#endif

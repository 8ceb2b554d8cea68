#ifndef SLUICE_CSRTP_SHIM_H
#define SLUICE_CSRTP_SHIM_H
// libsrtp 2.5 (Debian's libsrtp2-dev, pkg-config `libsrtp2`): SRTP and SRTCP protection (RFC 3711)
// keyed from DTLS-SRTP.
#include <srtp2/srtp.h>
#endif

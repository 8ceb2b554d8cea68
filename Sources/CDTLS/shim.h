#ifndef SLUICE_CDTLS_SHIM_H
#define SLUICE_CDTLS_SHIM_H
// OpenSSL 3 (Debian's libssl-dev, pkg-config `openssl`): DTLS with the use_srtp extension
// (RFC 5764), keying-material export, EC keys and X.509 certificates for WebRTC.
// swift-nio-ssl's BoringSSL is symbol-prefixed (CNIOBoringSSL_*), so both live in one process.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#endif

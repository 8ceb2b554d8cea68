#ifndef SLUICE_CDTLS_SHIM_H
#define SLUICE_CDTLS_SHIM_H
// OpenSSL 3 (Debian's libssl-dev, pkg-config `openssl`): DTLS with the use_srtp extension
// (RFC 5764), keying-material export, EC keys and X.509 certificates for WebRTC.
// swift-nio-ssl's BoringSSL is symbol-prefixed (CNIOBoringSSL_*), so both live in one process.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>

// Swift imports neither function-like macros nor variadic functions: the few OpenSSL macros
// Sluice needs, as functions.

/// A fresh EC key on P-256 (EVP_EC_gen is a macro over the variadic EVP_PKEY_Q_keygen).
static inline EVP_PKEY *sluice_ec_p256_generate(void) {
    return EVP_EC_gen("P-256");
}

/// DTLSv1_get_timeout: 1 and the time left when a retransmission timer runs, else 0.
static inline int sluice_dtls_get_timeout(SSL *ssl, long *seconds, long *microseconds) {
    struct timeval left = {0, 0};
    long running = DTLSv1_get_timeout(ssl, &left);
    *seconds = (long)left.tv_sec;
    *microseconds = (long)left.tv_usec;
    return running > 0 ? 1 : 0;
}

/// DTLSv1_handle_timeout: 1 when a flight was retransmitted, 0 when nothing was due, -1 on failure
/// (too many retransmissions).
static inline long sluice_dtls_handle_timeout(SSL *ssl) {
    return DTLSv1_handle_timeout(ssl);
}

/// The datagram size DTLS fragments its records for (SSL_set_mtu and DTLS_set_link_mtu); the
/// memory BIOs cannot be asked, so SSL_OP_NO_QUERY_MTU goes with it.
static inline void sluice_dtls_set_mtu(SSL *ssl, long mtu) {
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, mtu);
    DTLS_set_link_mtu(ssl, mtu);
}

/// An empty memory BIO reads as "retry later" (-1), not as end of file (0).
static inline void sluice_bio_set_mem_eof_return(BIO *bio, int value) {
    BIO_set_mem_eof_return(bio, value);
}

/// No session tickets: every WebRTC handshake is a full one (SSL_OP_NO_TICKET is a macro).
static inline void sluice_ssl_ctx_no_tickets(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
}

/// DTLS 1.2 only: not 1.0 (deprecated by RFC 8996), and not 1.3, whose records carry another
/// version than the one negotiated (DTLSSession drops records of any other version once connected).
static inline int sluice_ssl_ctx_set_dtls12_only(SSL_CTX *ctx) {
    return SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1
        && SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1;
}

#endif

#ifndef SLUICE_SRTP_OPENSSL_CRYPTO_H
#define SLUICE_SRTP_OPENSSL_CRYPTO_H
/// Registers OpenSSL-backed (AES-NI) AES-ICM-128 and HMAC-SHA1 with libsrtp2 in place of its
/// built-in table implementations (Debian builds libsrtp2 without OpenSSL). Call once, after
/// srtp_init. Returns 0 (srtp_err_status_ok) or the libsrtp2 error of the failed self-test.
int sluice_srtp_use_openssl_crypto(void);
#endif

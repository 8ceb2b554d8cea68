#ifndef SLUICE_SRTP_OPENSSL_CRYPTO_H
#define SLUICE_SRTP_OPENSSL_CRYPTO_H
#include <stdint.h>

/// Registers OpenSSL-backed (AES-NI, SHA-NI) AES-ICM-128, AES-ICM-256 and HMAC-SHA1 with libsrtp2
/// in place of its built-in ones (Debian's libsrtp2 does AES-ICM through NSS, a new context per
/// packet, and HMAC-SHA1 in portable C). libsrtp2 runs its own test vectors against each type
/// before taking it. Call once, after srtp_init and before the first srtp_create: sessions created
/// earlier keep the types they were made with. Not thread-safe against other libsrtp2 calls.
/// Returns 0 (srtp_err_status_ok), srtp_err_status_init_fail (5) before srtp_init, or the
/// srtp_err_status_t of the first registration libsrtp2 refused (its self-test failing, say).
int sluice_srtp_use_openssl_crypto(void);

/// 1 when libsrtp2's crypto kernel hands out this target's types for AES-ICM-128, AES-ICM-256
/// and HMAC-SHA1, else 0.
int sluice_srtp_openssl_crypto_is_registered(void);

/// 1 when each of this target's types carries libsrtp2's test vectors (so the registration's
/// self-test ran rather than being skipped), else 0.
int sluice_srtp_openssl_crypto_has_test_data(void);

/// Runs libsrtp2's self-test (its own test vectors and random round trips) on each of this
/// target's types without registering anything. Returns 0 or the first failure's srtp_err_status_t.
int sluice_srtp_openssl_crypto_self_test(void);

/// Known-answer hook: `length` bytes of the AES-ICM-128 keystream of this target's cipher type for
/// `key_and_salt` (16-byte key then 14-byte salt) and the 16-byte `iv` (RFC 3711 §4.1.1), written
/// to `out`. Returns 0 or the srtp_err_status_t.
int sluice_srtp_openssl_aes_icm_128_keystream(const uint8_t *key_and_salt, const uint8_t *iv,
                                               uint8_t *out, unsigned int length);

/// Known-answer hook: the first `tag_length` (at most 20) bytes of HMAC-SHA1 of `data` under `key`
/// (at most 20 bytes) from this target's auth type, written to `tag`. Returns 0 or the srtp_err_status_t.
int sluice_srtp_openssl_hmac_sha1(const uint8_t *key, int key_length, const uint8_t *data, int data_length,
                                  uint8_t *tag, int tag_length);
#endif

#ifndef SLUICE_SRTP_OPENSSL_TYPES_H
#define SLUICE_SRTP_OPENSSL_TYPES_H
// The libsrtp2 cipher and auth types this target implements with OpenSSL, and the libsrtp2
// symbols they lean on that Debian's libsrtp2-dev exports but does not declare in its headers.
#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>
#include <srtp2/crypto_types.h>

/// AES-128 in counter mode as SRTP uses it (RFC 3711 §4.1.1), OpenSSL's EVP_aes_128_ctr.
extern const srtp_cipher_type_t sluice_openssl_aes_icm_128;
/// AES-256 in counter mode as SRTP uses it (RFC 6188 §7), OpenSSL's EVP_aes_256_ctr.
extern const srtp_cipher_type_t sluice_openssl_aes_icm_256;
/// HMAC-SHA1 (RFC 2104 over FIPS 180-4), SRTP's default authentication (RFC 3711 §4.2.1).
extern const srtp_auth_type_t sluice_openssl_hmac_sha1;

// libsrtp2 2.5's own test vectors (exported, declared in no installed header): the types above
// carry them, so srtp_replace_*'s self-test checks this file against libsrtp's known answers.
extern const srtp_cipher_test_case_t srtp_aes_icm_128_test_case_0;
extern const srtp_cipher_test_case_t srtp_aes_icm_256_test_case_0;
extern const srtp_auth_test_case_t srtp_hmac_test_case_0;

// libsrtp2 2.5's crypto kernel (crypto/include/crypto_kernel.h, not installed): which type the
// kernel hands out for an id.
const srtp_cipher_type_t *srtp_crypto_kernel_get_cipher_type(srtp_cipher_type_id_t id);
const srtp_auth_type_t *srtp_crypto_kernel_get_auth_type(srtp_auth_type_id_t id);

#endif

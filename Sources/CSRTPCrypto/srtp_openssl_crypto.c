// Registration of the OpenSSL-backed types with libsrtp2's crypto kernel, and the known-answer
// hooks the tests drive them through (see include/srtp_openssl_crypto.h).
#include "srtp_openssl_crypto.h"
#include "srtp_openssl_types.h"

#include <string.h>

int sluice_srtp_use_openssl_crypto(void) {
    // Before srtp_init the kernel is empty: a type loaded then would make srtp_init's own loading
    // of the same id fail.
    if (srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_128) == NULL) {
        return srtp_err_status_init_fail;
    }
    srtp_err_status_t status = srtp_replace_cipher_type(&sluice_openssl_aes_icm_128, SRTP_AES_ICM_128);
    if (status == srtp_err_status_ok) {
        status = srtp_replace_cipher_type(&sluice_openssl_aes_icm_256, SRTP_AES_ICM_256);
    }
    if (status == srtp_err_status_ok) {
        status = srtp_replace_auth_type(&sluice_openssl_hmac_sha1, SRTP_HMAC_SHA1);
    }
    return (int)status;
}

int sluice_srtp_openssl_crypto_is_registered(void) {
    return srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_128) == &sluice_openssl_aes_icm_128 &&
           srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_256) == &sluice_openssl_aes_icm_256 &&
           srtp_crypto_kernel_get_auth_type(SRTP_HMAC_SHA1) == &sluice_openssl_hmac_sha1;
}

int sluice_srtp_openssl_crypto_has_test_data(void) {
    return sluice_openssl_aes_icm_128.test_data != NULL && sluice_openssl_aes_icm_256.test_data != NULL &&
           sluice_openssl_hmac_sha1.test_data != NULL;
}

int sluice_srtp_openssl_crypto_self_test(void) {
    srtp_err_status_t status = srtp_cipher_type_self_test(&sluice_openssl_aes_icm_128);
    if (status == srtp_err_status_ok) {
        status = srtp_cipher_type_self_test(&sluice_openssl_aes_icm_256);
    }
    if (status == srtp_err_status_ok) {
        status = srtp_auth_type_self_test(&sluice_openssl_hmac_sha1);
    }
    return (int)status;
}

int sluice_srtp_openssl_aes_icm_128_keystream(const uint8_t *key_and_salt, const uint8_t *iv,
                                               uint8_t *out, unsigned int length) {
    if (key_and_salt == NULL || iv == NULL || (out == NULL && length > 0)) {
        return srtp_err_status_bad_param;
    }
    const srtp_cipher_type_t *type = &sluice_openssl_aes_icm_128;
    srtp_cipher_t *cipher = NULL;
    srtp_err_status_t status = type->alloc(&cipher, SRTP_AES_ICM_128_KEY_LEN_WSALT, 0);
    if (status != srtp_err_status_ok) {
        return (int)status;
    }
    uint8_t counter[16];
    memcpy(counter, iv, sizeof counter);
    status = type->init(cipher->state, key_and_salt);
    if (status == srtp_err_status_ok) {
        status = type->set_iv(cipher->state, counter, srtp_direction_encrypt);
    }
    if (status == srtp_err_status_ok && length > 0) {
        memset(out, 0, length);
        status = type->encrypt(cipher->state, out, &length);
    }
    srtp_err_status_t freed = type->dealloc(cipher);
    return (int)(status != srtp_err_status_ok ? status : freed);
}

int sluice_srtp_openssl_hmac_sha1(const uint8_t *key, int key_length, const uint8_t *data, int data_length,
                                  uint8_t *tag, int tag_length) {
    const srtp_auth_type_t *type = &sluice_openssl_hmac_sha1;
    srtp_auth_t *auth = NULL;
    srtp_err_status_t status = type->alloc(&auth, key_length, tag_length);
    if (status != srtp_err_status_ok) {
        return (int)status;
    }
    status = type->init(auth->state, key, key_length);
    if (status == srtp_err_status_ok) {
        status = type->start(auth->state);
    }
    if (status == srtp_err_status_ok) {
        status = type->compute(auth->state, data, data_length, tag_length, tag);
    }
    srtp_err_status_t freed = type->dealloc(auth);
    return (int)(status != srtp_err_status_ok ? status : freed);
}

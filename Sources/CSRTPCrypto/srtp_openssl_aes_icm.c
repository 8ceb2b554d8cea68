// AES in SRTP's integer counter mode (RFC 3711 §4.1.1; AES-256 per RFC 6188) for libsrtp2, on
// OpenSSL's EVP AES-CTR (AES-NI where the CPU has it). Debian's libsrtp2 does AES-ICM through NSS
// with a new PK11 context per packet: 20 µs per 1200-byte protect where this takes well under one.
#include "srtp_openssl_types.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/// SRTP's counter is the low 16 bits of the block (RFC 3711 §4.1.1): one IV gives at most 2^16
/// blocks of keystream. OpenSSL's CTR would carry into the salt's bytes past that, so it is refused.
#define ICM_BLOCKS_PER_IV 0x10000u

typedef struct {
    EVP_CIPHER_CTX *ctx;
    /// The session salt in bytes 0…13, zero in the two counter bytes (the salt shifted by 16 bits).
    uint8_t salt[16];
    /// AES key bytes before the salt: 16 or 32.
    int aes_key_length;
    /// Keystream bytes left under the current IV before the 16-bit counter would wrap.
    uint64_t keystream_left;
} icm_state;

/// The cipher and its state in one allocation, the cipher first (libsrtp frees what it was given).
typedef struct {
    srtp_cipher_t cipher;
    icm_state state;
} icm_allocation;

static srtp_err_status_t icm_alloc(const srtp_cipher_type_t *type, srtp_cipher_type_id_t id, int aes_key_length,
                                   srtp_cipher_pointer_t *out, int key_length) {
    if (out == NULL || key_length != aes_key_length + SRTP_SALT_LEN) {
        return srtp_err_status_bad_param;
    }
    icm_allocation *allocation = calloc(1, sizeof *allocation);
    if (allocation == NULL) {
        return srtp_err_status_alloc_fail;
    }
    allocation->state.ctx = EVP_CIPHER_CTX_new();
    if (allocation->state.ctx == NULL) {
        free(allocation);
        return srtp_err_status_alloc_fail;
    }
    allocation->state.aes_key_length = aes_key_length;
    allocation->cipher.type = type;
    allocation->cipher.state = &allocation->state;
    allocation->cipher.key_len = key_length;
    // srtp.c chooses the RFC 3711 IV layout (SSRC and packet index) by this id.
    allocation->cipher.algorithm = (int)id;
    *out = &allocation->cipher;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_alloc_128(srtp_cipher_pointer_t *out, int key_length, int tag_length) {
    (void)tag_length;
    return icm_alloc(&sluice_openssl_aes_icm_128, SRTP_AES_ICM_128, SRTP_AES_128_KEY_LEN, out, key_length);
}

static srtp_err_status_t icm_alloc_256(srtp_cipher_pointer_t *out, int key_length, int tag_length) {
    (void)tag_length;
    return icm_alloc(&sluice_openssl_aes_icm_256, SRTP_AES_ICM_256, SRTP_AES_256_KEY_LEN, out, key_length);
}

static srtp_err_status_t icm_dealloc(srtp_cipher_pointer_t cipher) {
    if (cipher == NULL) {
        return srtp_err_status_bad_param;
    }
    icm_allocation *allocation = (icm_allocation *)cipher;
    EVP_CIPHER_CTX_free(allocation->state.ctx);
    OPENSSL_cleanse(allocation, sizeof *allocation);
    free(allocation);
    return srtp_err_status_ok;
}

/// `key`: the AES key followed by the 14-byte salt (SRTP_AES_ICM_*_KEY_LEN_WSALT bytes).
static srtp_err_status_t icm_init(void *opaque, const uint8_t *key) {
    icm_state *state = opaque;
    if (state == NULL || key == NULL) {
        return srtp_err_status_bad_param;
    }
    const EVP_CIPHER *aes = state->aes_key_length == SRTP_AES_256_KEY_LEN ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
    if (EVP_EncryptInit_ex(state->ctx, aes, NULL, key, NULL) != 1) {
        return srtp_err_status_init_fail;
    }
    memset(state->salt, 0, sizeof state->salt);
    memcpy(state->salt, key + state->aes_key_length, SRTP_SALT_LEN);
    state->keystream_left = 0;
    return srtp_err_status_ok;
}

/// `iv`: 16 bytes, SSRC and packet index placed as RFC 3711 §4.1.1 says (srtp.c does that); the
/// counter block is the IV XOR the salt, its low 16 bits counting blocks from there.
static srtp_err_status_t icm_set_iv(void *opaque, uint8_t *iv, srtp_cipher_direction_t direction) {
    (void)direction;   // counter mode: encrypting and decrypting are the same keystream XOR
    icm_state *state = opaque;
    if (state == NULL || iv == NULL) {
        return srtp_err_status_bad_param;
    }
    uint8_t counter[16];
    for (size_t index = 0; index < sizeof counter; index++) {
        counter[index] = iv[index] ^ state->salt[index];
    }
    if (EVP_EncryptInit_ex(state->ctx, NULL, NULL, NULL, counter) != 1) {
        return srtp_err_status_cipher_fail;
    }
    unsigned int first_block = ((unsigned int)counter[14] << 8) | counter[15];
    state->keystream_left = (uint64_t)(ICM_BLOCKS_PER_IV - first_block) * 16u;
    return srtp_err_status_ok;
}

/// XORs the next `*length` keystream bytes into `buffer` in place; later calls under the same IV
/// continue the keystream where this one stopped.
static srtp_err_status_t icm_encrypt(void *opaque, uint8_t *buffer, unsigned int *length) {
    icm_state *state = opaque;
    if (state == NULL || length == NULL || (buffer == NULL && *length > 0)) {
        return srtp_err_status_bad_param;
    }
    if (*length > INT_MAX || *length > state->keystream_left) {
        return srtp_err_status_terminus;
    }
    if (*length == 0) {
        return srtp_err_status_ok;
    }
    int written = 0;
    if (EVP_EncryptUpdate(state->ctx, buffer, &written, buffer, (int)*length) != 1 || written != (int)*length) {
        return srtp_err_status_cipher_fail;
    }
    state->keystream_left -= *length;
    return srtp_err_status_ok;
}

const srtp_cipher_type_t sluice_openssl_aes_icm_128 = {
    .alloc = icm_alloc_128,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .set_aad = NULL,
    .encrypt = icm_encrypt,
    .decrypt = icm_encrypt,
    .set_iv = icm_set_iv,
    .get_tag = NULL,
    .description = "AES-128 integer counter mode (OpenSSL EVP, Sluice)",
    .test_data = &srtp_aes_icm_128_test_case_0,
    .id = SRTP_AES_ICM_128,
};

const srtp_cipher_type_t sluice_openssl_aes_icm_256 = {
    .alloc = icm_alloc_256,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .set_aad = NULL,
    .encrypt = icm_encrypt,
    .decrypt = icm_encrypt,
    .set_iv = icm_set_iv,
    .get_tag = NULL,
    .description = "AES-256 integer counter mode (OpenSSL EVP, Sluice)",
    .test_data = &srtp_aes_icm_256_test_case_0,
    .id = SRTP_AES_ICM_256,
};

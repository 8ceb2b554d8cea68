// HMAC-SHA1 (RFC 2104) for libsrtp2's SRTP and SRTCP tags (RFC 3711 §4.2.1), on OpenSSL's SHA-1
// (SHA-NI or AVX2 where the CPU has them).
//
// The key's two padded blocks are hashed once per key; a packet starts from a copy of that inner
// state and ends with a copy of the outer one. OpenSSL 3's HMAC (EVP_MAC or HMAC_CTX) copies
// provider contexts through the heap twice a packet for the same effect, about a third slower here
// (/tmp/w/srtpbench/hm.c, 1200 bytes); the SHA1_* calls it needs are deprecated in OpenSSL 3.0 but
// not removed, hence the API level below.
#define OPENSSL_API_COMPAT 0x10100000L
#include "srtp_openssl_types.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

/// HMAC-SHA1's output; SRTP sends the first 10 (or 4) bytes of it.
#define HMAC_SHA1_LENGTH SHA_DIGEST_LENGTH
/// The longest key accepted: SRTP's n_a is 160 bits (RFC 3711 §4.2.1), as libsrtp's own HMAC allows.
#define HMAC_SHA1_MAX_KEY 20

typedef struct {
    SHA_CTX inner;   // after hashing key XOR ipad
    SHA_CTX outer;   // after hashing key XOR opad
    SHA_CTX work;    // the packet being authenticated
} hmac_state;

typedef struct {
    srtp_auth_t auth;
    hmac_state state;
} hmac_allocation;

static srtp_err_status_t hmac_alloc(srtp_auth_pointer_t *out, int key_length, int tag_length) {
    if (out == NULL || key_length < 0 || key_length > HMAC_SHA1_MAX_KEY ||
        tag_length < 0 || tag_length > HMAC_SHA1_LENGTH) {
        return srtp_err_status_bad_param;
    }
    hmac_allocation *allocation = calloc(1, sizeof *allocation);
    if (allocation == NULL) {
        return srtp_err_status_alloc_fail;
    }
    allocation->auth.type = &sluice_openssl_hmac_sha1;
    allocation->auth.state = &allocation->state;
    allocation->auth.out_len = tag_length;
    allocation->auth.key_len = key_length;
    allocation->auth.prefix_len = 0;
    *out = &allocation->auth;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_pointer_t auth) {
    if (auth == NULL) {
        return srtp_err_status_bad_param;
    }
    OPENSSL_cleanse(auth, sizeof(hmac_allocation));
    free(auth);
    return srtp_err_status_ok;
}

/// One SHA-1 state after hashing the key zero-padded to a block, XORed with `pad` (RFC 2104 §2).
static int hmac_keyed(SHA_CTX *context, const uint8_t *key, int key_length, uint8_t pad) {
    uint8_t block[SHA_CBLOCK];
    memset(block, pad, sizeof block);
    for (int index = 0; index < key_length; index++) {
        block[index] ^= key[index];
    }
    int ok = SHA1_Init(context) == 1 && SHA1_Update(context, block, sizeof block) == 1;
    OPENSSL_cleanse(block, sizeof block);
    return ok;
}

static srtp_err_status_t hmac_init(void *opaque, const uint8_t *key, int key_length) {
    hmac_state *state = opaque;
    if (state == NULL || (key == NULL && key_length > 0) || key_length < 0 || key_length > HMAC_SHA1_MAX_KEY) {
        return srtp_err_status_bad_param;
    }
    if (!hmac_keyed(&state->inner, key, key_length, 0x36) || !hmac_keyed(&state->outer, key, key_length, 0x5c)) {
        return srtp_err_status_init_fail;
    }
    state->work = state->inner;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *opaque) {
    hmac_state *state = opaque;
    if (state == NULL) {
        return srtp_err_status_bad_param;
    }
    state->work = state->inner;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *opaque, const uint8_t *buffer, int length) {
    hmac_state *state = opaque;
    if (state == NULL || length < 0 || (buffer == NULL && length > 0)) {
        return srtp_err_status_bad_param;
    }
    if (length > 0 && SHA1_Update(&state->work, buffer, (size_t)length) != 1) {
        return srtp_err_status_auth_fail;
    }
    return srtp_err_status_ok;
}

/// Hashes the last `length` bytes and writes the first `tag_length` bytes of the HMAC to `tag`.
static srtp_err_status_t hmac_compute(void *opaque, const uint8_t *buffer, int length, int tag_length, uint8_t *tag) {
    hmac_state *state = opaque;
    if (tag == NULL || tag_length < 0 || tag_length > HMAC_SHA1_LENGTH) {
        return srtp_err_status_bad_param;
    }
    srtp_err_status_t status = hmac_update(opaque, buffer, length);
    if (status != srtp_err_status_ok) {
        return status;
    }
    uint8_t inner[HMAC_SHA1_LENGTH];
    uint8_t full[HMAC_SHA1_LENGTH];
    int ok = SHA1_Final(inner, &state->work) == 1;
    state->work = state->outer;
    ok = ok && SHA1_Update(&state->work, inner, sizeof inner) == 1 && SHA1_Final(full, &state->work) == 1;
    if (ok) {
        memcpy(tag, full, (size_t)tag_length);
    }
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(full, sizeof full);
    return ok ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

const srtp_auth_type_t sluice_openssl_hmac_sha1 = {
    .alloc = hmac_alloc,
    .dealloc = hmac_dealloc,
    .init = hmac_init,
    .compute = hmac_compute,
    .update = hmac_update,
    .start = hmac_start,
    .description = "HMAC-SHA1 (OpenSSL SHA-1, Sluice)",
    .test_data = &srtp_hmac_test_case_0,
    .id = SRTP_HMAC_SHA1,
};

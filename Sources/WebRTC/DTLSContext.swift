import CDTLS

/// The one `SSL_CTX` a certificate's DTLS sessions are made from (RFC 5764 DTLS-SRTP, RFC 8827 §6.5).
///
/// DTLS 1.2 only (RFC 8996), ECDHE with ECDSA-signed handshakes, the use_srtp extension offering
/// `SRTPProfile.preferenceOrder`, and the peer's
/// certificate requested: WebRTC certificates are self-signed, so the chain is accepted as it is and
/// the certificate is checked against the SDP fingerprint once the handshake is done.
///
/// `@unchecked Sendable`: configured in `init`, then only used by `SSL_new`, which OpenSSL allows
/// from any thread.
final class DTLSContext: @unchecked Sendable {
    let handle: OpaquePointer   // SSL_CTX *

    /// DTLS 1.2 cipher suites: ECDHE, an ECDSA certificate, AES-GCM (RFC 5289), which every
    /// browser and OBS offer. One record protection for all keeps `minimumProtectedFragment` exact.
    static let cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
    /// The shortest protected record fragment the ciphers above can produce: the 8-byte explicit
    /// nonce and the 16-byte tag (RFC 5288 §3). Shorter ones are dropped before OpenSSL sees them
    /// (`DTLSRecord.admissible`).
    static let minimumProtectedFragment = 24

    /// `key` and `certificate` get a reference of the SSL_CTX's own; the caller keeps its own.
    init(key: OpaquePointer, certificate: OpaquePointer) throws(WebRTCError) {
        try SRTPLibrary.ensureInitialized()   // decides which SRTP profile to prefer
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(DTLS_method()) else { throw OpenSSLError.error("SSL_CTX_new(DTLS_method) failed") }
        handle = ctx
        guard sluice_ssl_ctx_set_dtls12_only(ctx) == 1 else { throw OpenSSLError.error("DTLS 1.2 refused") }
        guard SSL_CTX_use_certificate(ctx, certificate) == 1 else { throw OpenSSLError.error("SSL_CTX_use_certificate failed") }
        guard SSL_CTX_use_PrivateKey(ctx, key) == 1 else { throw OpenSSLError.error("SSL_CTX_use_PrivateKey failed") }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw OpenSSLError.error("key does not match the certificate") }
        guard SSL_CTX_set_cipher_list(ctx, Self.cipherList) == 1 else { throw OpenSSLError.error("cipher list refused") }
        // Returns 0 on success, unlike most of OpenSSL.
        guard SSL_CTX_set_tlsext_use_srtp(ctx, SRTPProfile.offered) == 0 else { throw OpenSSLError.error("use_srtp refused") }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in
            1   // self-signed is normal: the fingerprint check after the handshake decides
        }
        // No session resumption: every WebRTC handshake is a full one with fresh keys.
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, Int(SSL_SESS_CACHE_OFF), nil)
        sluice_ssl_ctx_no_tickets(ctx)
    }

    deinit {
        SSL_CTX_free(handle)
    }
}

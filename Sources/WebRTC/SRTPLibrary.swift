import CSRTP
import CSRTPCrypto

/// libsrtp2's process-wide set-up, done once before the first `srtp_create`: `srtp_init` (the
/// crypto kernel and its self-tests), then OpenSSL's AES-ICM and HMAC-SHA1 registered in place
/// of the built-in ones (CSRTPCrypto: Debian's libsrtp2 does AES-ICM through NSS with a new
/// context per packet, about 8× slower for a 1200-byte packet).
enum SRTPLibrary {
    /// The set-up's outcome, computed once: Swift runs a static `let`'s initializer exactly once,
    /// under its own lock, whichever thread asks first.
    private static let initialization: (status: Int32, openSSLCrypto: Bool) = {
        let status = Int32(bitPattern: srtp_init().rawValue)
        guard status == 0 else { return (status, false) }
        // A refusal (libsrtp's self-test failing on the OpenSSL types) leaves the built-in ones: slower, still correct.
        return (0, sluice_srtp_use_openssl_crypto() == 0)
    }()

    /// Initializes libsrtp2 on the first call; later calls return at once with the same answer.
    static func ensureInitialized() throws(WebRTCError) {
        let status = initialization.status
        guard status == 0 else { throw WebRTCError("srtp_init failed: \(statusName(status))") }
    }

    /// Whether AES-CM and HMAC-SHA1 run on OpenSSL (AES-NI, SHA-NI) rather than libsrtp2's own.
    static var usesOpenSSLCrypto: Bool {
        initialization.status == 0 && initialization.openSSLCrypto
    }

    private static let statusNames = [
        "ok", "fail", "bad_param", "alloc_fail", "dealloc_fail", "init_fail", "terminus", "auth_fail",
        "cipher_fail", "replay_fail", "replay_old", "algo_fail", "no_such_op", "no_ctx", "cant_check",
        "key_expired", "socket_err", "signal_err", "nonce_bad", "read_fail", "write_fail", "parse_err",
        "encode_err", "semaphore_err", "pfkey_err", "bad_mki", "pkt_idx_old", "pkt_idx_adv",
    ]

    /// The `srtp_err_status_t` name for a status (srtp.h), e.g. "srtp_err_status_auth_fail".
    static func statusName(_ status: Int32) -> String {
        guard let index = Int(exactly: status), statusNames.indices.contains(index) else { return "srtp_err_status \(status)" }
        return "srtp_err_status_" + statusNames[index]
    }
}

import CSRTP

/// libsrtp2's process-wide initialization (`srtp_init`: the crypto kernel and its self-tests),
/// done once, before the first `srtp_create`.
enum SRTPLibrary {
    /// `srtp_init`'s result, computed once: Swift runs a static `let`'s initializer exactly once,
    /// under its own lock, whichever thread asks first.
    private static let initialization: Int32 = Int32(bitPattern: srtp_init().rawValue)

    /// Initializes libsrtp2 on the first call; later calls return at once with the same answer.
    static func ensureInitialized() throws(WebRTCError) {
        let status = initialization
        guard status == 0 else { throw WebRTCError("srtp_init failed: \(statusName(status))") }
    }

    /// The `srtp_err_status_t` name for a status (srtp.h), e.g. "srtp_err_status_auth_fail".
    static func statusName(_ status: Int32) -> String {
        let names = ["ok", "fail", "bad_param", "alloc_fail", "dealloc_fail", "init_fail", "terminus",
                     "auth_fail", "cipher_fail", "replay_fail", "replay_old", "algo_fail", "no_such_op",
                     "no_ctx", "cant_check", "key_expired", "socket_err", "signal_err", "nonce_bad",
                     "read_fail", "write_fail", "parse_err", "encode_err", "semaphore_err", "pfkey_err",
                     "bad_mki", "pkt_idx_old", "pkt_idx_adv"]
        guard let index = Int(exactly: status), names.indices.contains(index) else { return "srtp_err_status \(status)" }
        return "srtp_err_status_" + names[index]
    }
}

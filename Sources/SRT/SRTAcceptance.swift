import CSRT

/// The settings an accepted caller's connection gets.
public struct SRTAcceptance: Sendable {
    /// The shortest and longest passphrase SRT takes (`SRTO_PASSPHRASE`).
    public static let passphraseLengths = 10...79
    /// The latencies accepted, in milliseconds.
    public static let latencies = 0...10_000

    /// Whether the caller publishes or plays.
    public let role: SRTRole
    /// The passphrase both ends must share (the stream is then AES-encrypted, with the key length
    /// of `SRTServerConfiguration.keyLength` or else the caller's),
    /// or nil for none. A caller with another passphrase, or none, is refused by libsrt
    /// (reject reason `SRT_REJ_BADSECRET` 10 or `SRT_REJ_UNSECURE` 11).
    public let passphrase: String?
    /// The key length the passphrase's length suggests (`SRTKeyLength(passphrase:)`). Not applied
    /// to the connection: libsrt 1.5 takes the key length from the listener, before the listen
    /// callback runs (`SRTServerConfiguration.keyLength`), or else from the caller.
    public let keyLength: SRTKeyLength?
    /// The receive latency (`SRTO_RCVLATENCY`) and the latency asked of the peer
    /// (`SRTO_PEERLATENCY`), in milliseconds; the handshake settles on the larger of each pair.
    public let latencyMs: Int
    /// The admission's own value, handed back with the connection (e.g. the stream publisher).
    public let context: (any Sendable)?

    /// - Throws: `SRTError` `.invalidArgument` for a passphrase outside 10...79 bytes or a
    ///   latency outside 0...10 000 ms.
    public init(role: SRTRole, passphrase: String? = nil, latencyMs: Int = 120, context: (any Sendable)? = nil) throws {
        if let passphrase, !Self.passphraseLengths.contains(passphrase.utf8.count) {
            throw SRTError(.invalidArgument, "an SRT passphrase has 10...79 bytes, not \(passphrase.utf8.count)")
        }
        guard Self.latencies.contains(latencyMs) else {
            throw SRTError(.invalidArgument, "SRT latency \(latencyMs) ms is outside \(Self.latencies)")
        }
        self.role = role
        self.passphrase = passphrase
        self.keyLength = passphrase.map(SRTKeyLength.init(passphrase:))
        self.latencyMs = latencyMs
        self.context = context
    }
}

/// The AES key length of an encrypted SRT connection (`SRTO_PBKEYLEN`, bytes).
public enum SRTKeyLength: Int32, Sendable, Equatable, CaseIterable {
    case aes128 = 16
    case aes192 = 24
    case aes256 = 32

    /// "AES-128/256 by length": a passphrase of 32 bytes or more (as much entropy as an AES-256
    /// key can use, when it is random) suggests AES-256, a shorter one AES-128.
    public init(passphrase: String) {
        self = passphrase.utf8.count >= 32 ? .aes256 : .aes128
    }
}

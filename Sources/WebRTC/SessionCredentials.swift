/// One session's local ICE credentials and resource id, drawn from the system's random source.
struct SessionCredentials: Sendable, Equatable {
    /// ice-ufrag: 8 alphanumerics (RFC 8839 §5.4 asks 4 or more ice-chars).
    var ufrag: String
    /// ice-pwd: 24 alphanumerics, 142 bits (RFC 8839 §5.4 asks 22 or more ice-chars, 128 bits).
    var pwd: String
    /// The session's id in resource URLs: 32 lowercase hex digits (128 bits).
    var sessionID: String

    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    private static let hexDigits = Array("0123456789abcdef")

    init(ufrag: String, pwd: String, sessionID: String) {
        self.ufrag = ufrag
        self.pwd = pwd
        self.sessionID = sessionID
    }

    /// Fresh credentials.
    static func random() -> SessionCredentials {
        var generator = SystemRandomNumberGenerator()
        return SessionCredentials(ufrag: draw(8, from: alphanumerics, using: &generator),
                              pwd: draw(24, from: alphanumerics, using: &generator),
                              sessionID: draw(32, from: hexDigits, using: &generator))
    }

    /// The STUN short-term credential key (RFC 8489 §9.2.2: the password, OpaqueString-prepared;
    /// ice-chars need no preparation).
    var integrityKey: [UInt8] { Array(pwd.utf8) }

    private static func draw(_ count: Int, from alphabet: [Character], using generator: inout SystemRandomNumberGenerator) -> String {
        String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

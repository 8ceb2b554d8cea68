/// The SRTP master keys and salts one side of a DTLS-SRTP association uses (RFC 5764 §4.2):
/// `local` protects what this side sends, `remote` unprotects what the peer sends.
///
/// Its description names the profile only: the keys never reach a log.
public struct SRTPKeys: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The negotiated profile's name, as OpenSSL and RFC 5764 spell it (`SRTPProfile.rawValue`).
    public var profile: String
    /// The master key protecting what this side sends (16 bytes).
    public var localKey: [UInt8]
    /// The master salt for what this side sends (12 bytes for GCM, 14 for AES-CM).
    public var localSalt: [UInt8]
    /// The master key the peer protects with.
    public var remoteKey: [UInt8]
    /// The master salt the peer protects with.
    public var remoteSalt: [UInt8]

    public var description: String { "SRTPKeys(\(profile), keys redacted)" }
    public var debugDescription: String { description }

    public init(profile: String, localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) {
        self.profile = profile
        self.localKey = localKey
        self.localSalt = localSalt
        self.remoteKey = remoteKey
        self.remoteSalt = remoteSalt
    }

    /// The keys from DTLS's exported keying material (label "EXTRACTOR-dtls_srtp", RFC 5764 §4.2),
    /// laid out client key, server key, client salt, server salt; the client's are local for a
    /// client. Nil when `material` is not 2 × (key + salt) bytes long for `profile`.
    public init?(exportedKeyingMaterial material: [UInt8], profile: SRTPProfile, role: DTLSRole) {
        let key = profile.keyLength, salt = profile.saltLength
        guard material.count == 2 * (key + salt) else { return nil }
        let clientKey = Array(material[0..<key])
        let serverKey = Array(material[key..<2 * key])
        let clientSalt = Array(material[2 * key..<2 * key + salt])
        let serverSalt = Array(material[2 * key + salt..<2 * (key + salt)])
        switch role {
        case .client:
            self.init(profile: profile.rawValue, localKey: clientKey, localSalt: clientSalt,
                      remoteKey: serverKey, remoteSalt: serverSalt)
        case .server:
            self.init(profile: profile.rawValue, localKey: serverKey, localSalt: serverSalt,
                      remoteKey: clientKey, remoteSalt: clientSalt)
        }
    }
}

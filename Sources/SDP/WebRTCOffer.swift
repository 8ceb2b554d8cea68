/// What WHIP (RFC 9725) and WHEP need of an offer: the ICE credentials, the DTLS fingerprint
/// and role, and each media section's codecs and SSRCs. Also reads an answer (a client reading
/// the server's): nothing here is specific to the offering side.
public struct WebRTCOffer: Sendable {
    /// `a=ice-ufrag`, 4–256 ICE characters (RFC 8839 §5.4).
    public var iceUfrag: String
    /// `a=ice-pwd`, 22–256 ICE characters.
    public var icePwd: String
    /// The sha-256 `a=fingerprint` (RFC 8827 §6.5: the one every endpoint supports).
    public var fingerprint: SDPFingerprint
    /// `a=setup`: an offer says `actpass` (RFC 8842 §5.2); an answer `active` or `passive`.
    public var setup: SDPSetup
    /// Every media section, in order.
    public var sections: [OfferedSection]
    /// `a=ice-lite` at the session level (RFC 8839 §5.3).
    public var iceLite: Bool
    /// The `a=group:BUNDLE` groups' mids (RFC 8843 §7), in order.
    public var bundleGroups: [[String]]
    /// The `a=candidate` lines that read, of every section, in order.
    public var candidates: [ICECandidateLine]
    /// The description read.
    public var description: SessionDescription

    /// Reads `sdp`. The credentials, fingerprint and setup come from the first section the
    /// offerer did not disable, else the session level. Throws when there is no media section,
    /// no valid `a=ice-ufrag`/`a=ice-pwd`, no sha-256 `a=fingerprint` or no `a=setup`.
    public init(_ sdp: SessionDescription) throws(SDPError) {
        guard !sdp.media.isEmpty else { throw SDPError("the offer has no media section") }
        let session = sdp.sessionAttributes
        let lead = sdp.media.first { $0.port != 0 || $0.isBundleOnly } ?? sdp.media[0]
        func attribute(_ name: String) -> String? {
            lead.attributes.value(named: name) ?? session.value(named: name)
        }
        guard let ufrag = attribute("ice-ufrag"), let pwd = attribute("ice-pwd") else {
            throw SDPError("the offer has no ICE credentials (a=ice-ufrag and a=ice-pwd)")
        }
        guard ICECredentials.isValidUfrag(ufrag), ICECredentials.isValidPwd(pwd) else {
            throw SDPError("the offer's ICE credentials are not valid (a=ice-ufrag 4–256, a=ice-pwd 22–256 of A–Z a–z 0–9 + /)")
        }
        iceUfrag = ufrag
        icePwd = pwd
        fingerprint = try Self.sha256Fingerprint(lead.attributes.values(named: "fingerprint") + session.values(named: "fingerprint"))
        guard let setupText = attribute("setup") else { throw SDPError("the offer has no a=setup (the DTLS role)") }
        guard let setup = SDPSetup(rawValue: setupText) else { throw SDPError("a=setup:\(setupText.sdpQuoted()) is not active, passive, actpass or holdconn") }
        self.setup = setup
        let sessionDirection = session.last { $0.value == nil && SDPDirection(rawValue: $0.name) != nil }.flatMap { SDPDirection(rawValue: $0.name) }
        sections = sdp.media.enumerated().map { OfferedSection($1, index: $0, sessionDirection: sessionDirection) }
        iceLite = session.contains(named: "ice-lite")
        bundleGroups = session.values(named: "group").compactMap(Self.bundleGroup)
        candidates = sdp.media.flatMap(\.candidates)
        description = sdp
    }

    /// Reads and interprets `text` in one step.
    public init(text: String) throws(SDPError) {
        try self.init(SessionDescription(parsing: text))
    }

    /// The section with mid `mid`, if any.
    public func section(mid: String) -> OfferedSection? {
        sections.first { $0.mid == mid }
    }

    private static func sha256Fingerprint(_ values: [String]) throws(SDPError) -> SDPFingerprint {
        guard !values.isEmpty else { throw SDPError("the offer has no a=fingerprint (the DTLS certificate's digest)") }
        let fingerprints = values.compactMap { SDPFingerprint(attributeValue: $0) }
        if let sha256 = fingerprints.first(where: \.isSHA256) { return sha256 }
        let offered = fingerprints.map(\.algorithm).joined(separator: ", ")
        throw SDPError("the offer has no sha-256 a=fingerprint of 32 bytes (offered: \(offered.isEmpty ? "none that reads" : offered))")
    }

    /// `BUNDLE <mid> …` → the mids; nil for other group semantics.
    private static func bundleGroup(_ value: String) -> [String]? {
        let tokens = Substring(value).sdpTokens
        guard tokens.first == "BUNDLE" else { return nil }
        return tokens.dropFirst().map(String.init)
    }
}

import CDTLS
import SDP

/// What is checked once OpenSSL reports a finished handshake, before SRTP is keyed:
/// the peer's certificate against the SDP fingerprint (RFC 8122 §5: "the certificate presented
/// … MUST match the fingerprint"), the use_srtp profile agreed (RFC 5764 §4.1.2), and the keys
/// exported (RFC 5764 §4.2).
struct DTLSHandshakeCheck {
    let ssl: OpaquePointer   // SSL *, borrowed
    let role: DTLSRole
    let remoteFingerprint: SDPFingerprint?

    /// The keying material's label (RFC 5764 §4.2).
    static let exporterLabel = "EXTRACTOR-dtls_srtp"

    /// `.connected` with the keys, or `.failed` saying which check failed.
    func outcome() -> DTLSState {
        OpenSSLError.clear()
        do throws(WebRTCError) {
            try checkPeerCertificate()
            let profile = try selectedProfile()
            return .connected(try exportKeys(profile: profile))
        } catch {
            return .failed(error.message)
        }
    }

    private func checkPeerCertificate() throws(WebRTCError) {
        guard let peer = SSL_get1_peer_certificate(ssl) else { throw WebRTCError("the peer sent no certificate") }
        defer { X509_free(peer) }
        guard let expected = remoteFingerprint else { return }
        let actual = try RTCCertificate.digest(of: peer, algorithm: expected.algorithm)
        guard actual == expected.bytes else {
            throw WebRTCError("the peer's certificate does not match its \(expected.algorithm) fingerprint "
                + "(\(SDPFingerprint(algorithm: expected.algorithm, bytes: actual).attributeValue))")
        }
    }

    private func selectedProfile() throws(WebRTCError) -> SRTPProfile {
        guard let selected = SSL_get_selected_srtp_profile(ssl), let name = selected.pointee.name else {
            throw WebRTCError("the peer did not agree to use_srtp")
        }
        let text = String(cString: name)
        guard let profile = SRTPProfile(rawValue: text) else { throw WebRTCError("unsupported SRTP profile \(text)") }
        return profile
    }

    private func exportKeys(profile: SRTPProfile) throws(WebRTCError) -> SRTPKeys {
        var material = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        let label = Self.exporterLabel
        let exported = SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0)
        guard exported == 1,
              let keys = SRTPKeys(exportedKeyingMaterial: material, profile: profile, role: role)
        else { throw OpenSSLError.error("SSL_export_keying_material failed") }
        return keys
    }
}

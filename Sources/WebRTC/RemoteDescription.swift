import NIOCore
import SDP

/// What a client needs of the other side's SDP: its ICE credentials, DTLS fingerprint and
/// the first UDP candidate it can reach (an IP address, or a name resolved at once), unless
/// the caller says where the server is.
struct RemoteDescription: Sendable {
    var iceUfrag: String
    var icePwd: String
    var fingerprint: SDPFingerprint
    var address: SocketAddress

    init(parsing text: String, override: SocketAddress? = nil) throws(WebRTCError) {
        let sdp: SessionDescription
        do {
            sdp = try SessionDescription(parsing: text)
        } catch {
            throw WebRTCError("answer does not parse: \(error.message)")
        }
        let session = sdp.sessionAttributes
        guard let ufrag = sdp.media.lazy.compactMap(\.iceUfrag).first ?? session.value(named: "ice-ufrag"),
              let pwd = sdp.media.lazy.compactMap(\.icePwd).first ?? session.value(named: "ice-pwd") else {
            throw WebRTCError("answer has no ICE credentials")
        }
        guard let fingerprint = sdp.media.lazy.compactMap(\.fingerprint).first
                ?? session.value(named: "fingerprint").flatMap(SDPFingerprint.init(attributeValue:)) else {
            throw WebRTCError("answer has no fingerprint")
        }
        let candidates = sdp.media.flatMap(\.candidates).filter { $0.transport == "udp" && $0.component == 1 }
        let reachable = candidates.lazy.compactMap { candidate in
            (try? SocketAddress(ipAddress: candidate.address, port: candidate.port))
                ?? (try? SocketAddress.makeAddressResolvingHost(candidate.address, port: candidate.port))
        }
        guard let address = override ?? reachable.first else {
            throw WebRTCError("answer has no UDP candidate with an address that resolves")
        }
        (iceUfrag, icePwd, self.fingerprint, self.address) = (ufrag, pwd, fingerprint, address)
    }
}

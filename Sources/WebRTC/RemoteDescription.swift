import NIOCore
import SDP

/// What a client needs of the other side's SDP: its ICE credentials, DTLS fingerprint and
/// the first UDP candidate it can reach (an IP address; no name resolution).
struct RemoteDescription: Sendable {
    var iceUfrag: String
    var icePwd: String
    var fingerprint: SDPFingerprint
    var address: SocketAddress

    init(parsing text: String) throws(WebRTCError) {
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
        guard let address = candidates.lazy.compactMap({ try? SocketAddress(ipAddress: $0.address, port: $0.port) }).first else {
            throw WebRTCError("answer has no UDP candidate with an IP address")
        }
        (iceUfrag, icePwd, self.fingerprint, self.address) = (ufrag, pwd, fingerprint, address)
    }
}

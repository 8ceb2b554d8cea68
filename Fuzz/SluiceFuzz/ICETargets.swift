import Logging
import NIOCore
import NIOEmbedded
import RTC
import SDP
@testable import WebRTC

/// The WebRTC server's receive path: datagrams from one address to a server with one
/// registered session (fixed credentials), through the demultiplexer, ICE-lite, DTLS and SRTP.
enum ICETargets {
    static let all = [request]

    /// The session's credentials; seeds carry binding requests signed with this password.
    static let credentials = SessionCredentials(ufrag: "FuzzUfrg", pwd: "FuzzPasswordFuzzPassword", sessionID: String(repeating: "f", count: 32))
    static let peerUfrag = "PeerUfrg"
    static let source = try! SocketAddress(ipAddress: "127.0.0.1", port: 40_000)
    /// A second peer address (mode bit 2): nominations from it start probes, and STUN answers from
    /// either reach the probe routing.
    static let otherSource = try! SocketAddress(ipAddress: "127.0.0.2", port: 40_001)
    static let certificate = try! RTCCertificate.generate()
    static let offer = try! WebRTCOffer(SessionDescription(parsing: ClientOffer.text(
        role: .whep, ufrag: peerUfrag, pwd: "PeerPasswordPeerPassword", fingerprint: certificate.fingerprint,
        videoSSRC: 1, audioSSRC: 2)))

    /// The first byte picks the shape: bit 0 clear, the rest is one datagram; set, the rest is
    /// up to 16 datagrams each after a 2-byte length. Bit 1 set sends a valid nominating binding
    /// request first, so the datagrams reach the bound session (DTLS, SRTP) as well. Bit 2 set
    /// sends every other datagram from a second address.
    static let request = FuzzTarget("ice-request", "WebRTCServer receive path: STUN/ICE-lite, then DTLS, RTP, RTCP to the bound session") { input in
        var input = input
        guard let mode = input.readInteger(as: UInt8.self) else { return }
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let server = WebRTCServer(configuration: WebRTCConfiguration(host: "127.0.0.1", port: 0), certificate: certificate,
                                  group: loop, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        guard let session = try? server.makeSession(offer: offer, role: .whep, ssrcs: (video: 3, audio: 4), streamLabel: "fuzz",
                                                    delegate: FuzzPeer(), credentials: credentials) else {
            preconditionFailure("the fuzz session could not be made")
        }
        if mode & 2 != 0 {
            let check = STUNMessage.bindingRequest(transactionID: Array(repeating: 9, count: 12), username: "\(credentials.ufrag):\(peerUfrag)",
                                                   priority: 1, controlling: 1, useCandidate: true, integrityKey: credentials.integrityKey)
            server.router.received(check, from: source)
            precondition(session.remoteAddress == source, "a valid check did not bind the session")
            if mode & 4 != 0 {
                // The same nomination from the second address: a probe goes there, media stays.
                server.router.received(check, from: otherSource)
                precondition(session.remoteAddress == source, "a nomination moved the session before its probe was answered")
                precondition(server.router.probesAwaited == 1, "a nomination from a new address sent no probe")
            }
        }
        for (index, datagram) in datagrams(input, split: mode & 1 != 0).enumerated() {
            server.router.received(datagram, from: mode & 4 != 0 && index % 2 == 1 ? otherSource : source)
            loop.run()
        }
        session.close(reason: "fuzz")
        loop.run()
        precondition(server.sessions.isEmpty, "a closed session stayed registered")
        precondition(server.router.probesAwaited == 0, "a closed session's probe stayed registered")
    }

    static func datagrams(_ input: ByteBuffer, split: Bool) -> [ByteBuffer] {
        guard split else { return [input] }
        var input = input
        var datagrams: [ByteBuffer] = []
        while datagrams.count < 16, let length = input.readInteger(as: UInt16.self) {
            guard let datagram = input.readSlice(length: min(Int(length), input.readableBytes)) else { break }
            datagrams.append(datagram)
        }
        return datagrams
    }
}

/// A delegate that takes everything and keeps nothing.
private final class FuzzPeer: PeerSessionDelegate {
    func peerConnected(_ session: PeerSession) {}
    func peer(_ session: PeerSession, receivedRTP packet: RTPPacket) {}
    func peer(_ session: PeerSession, receivedRTCP packets: [RTCPPacket]) {}
    func peerClosed(_ session: PeerSession, reason: String) {}
}

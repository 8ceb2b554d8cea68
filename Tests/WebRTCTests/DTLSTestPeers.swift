import NIOCore
import SDP
import XCTest
@testable import WebRTC

/// A client and a server `DTLSSession` handing datagrams to each other in memory.
struct DTLSTestPeers {
    let client: DTLSSession
    let server: DTLSSession
    /// Every datagram either side sent, in order, with who sent it.
    private(set) var sent: [(fromClient: Bool, datagram: ByteBuffer)] = []

    init(clientCertificate: RTCCertificate, serverCertificate: RTCCertificate,
         clientExpects: SDPFingerprint?, serverExpects: SDPFingerprint?, mtu: Int = 1200,
         initialRetransmitTimeout: Duration = .seconds(1)) throws {
        client = try DTLSSession(role: .client, certificate: clientCertificate, remoteFingerprint: clientExpects,
                                 mtu: mtu, initialRetransmitTimeout: initialRetransmitTimeout)
        server = try DTLSSession(role: .server, certificate: serverCertificate, remoteFingerprint: serverExpects,
                                 mtu: mtu, initialRetransmitTimeout: initialRetransmitTimeout)
    }

    /// Two peers that expect each other's real fingerprints.
    static func matched(mtu: Int = 1200, initialRetransmitTimeout: Duration = .seconds(1)) throws -> DTLSTestPeers {
        let clientCertificate = try RTCCertificate.generate()
        let serverCertificate = try RTCCertificate.generate()
        return try DTLSTestPeers(clientCertificate: clientCertificate, serverCertificate: serverCertificate,
                                 clientExpects: serverCertificate.fingerprint, serverExpects: clientCertificate.fingerprint,
                                 mtu: mtu, initialRetransmitTimeout: initialRetransmitTimeout)
    }

    /// Delivers datagrams back and forth, starting with the client's first flight (or the given
    /// queues), until neither side has anything left to send (at most `rounds` exchanges). `drop`
    /// sees each datagram's index in `sent` and its direction and says whether it is lost.
    mutating func run(toServer first: [ByteBuffer]? = nil, toClient: [ByteBuffer] = [], rounds: Int = 20,
                      drop: (Int, Bool) -> Bool = { _, _ in false }) {
        var toServer = first ?? client.start()
        var toClient = toClient
        for _ in 0..<rounds where !(toServer.isEmpty && toClient.isEmpty) {
            toClient += deliver(toServer, fromClient: true, drop: drop)
            toServer = deliver(toClient, fromClient: false, drop: drop)
            toClient = []
        }
    }

    /// Lets the retransmission timers fire, as an event loop would: waits for the earlier of the
    /// two, hands both their retransmissions and delivers them, until neither side is
    /// handshaking or `attempts` timer rounds have passed.
    mutating func runTimers(attempts: Int = 8, drop: (Int, Bool) -> Bool = { _, _ in false }) {
        for _ in 0..<attempts where client.state == .handshaking || server.state == .handshaking {
            guard let wait = [client.timeout, server.timeout].compactMap({ $0 }).min() else { return }
            Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18
                + Double(wait.components.seconds) + 0.005)   // OpenSSL's timers run on the wall clock
            let fromClient = client.handleTimeout()
            let fromServer = server.handleTimeout()
            run(toServer: fromClient, toClient: fromServer, drop: drop)
        }
    }

    /// Hands `datagrams` to the other side; returns what it answered.
    mutating func deliver(_ datagrams: [ByteBuffer], fromClient: Bool, drop: (Int, Bool) -> Bool = { _, _ in false }) -> [ByteBuffer] {
        var answers: [ByteBuffer] = []
        for datagram in datagrams {
            sent.append((fromClient, datagram))
            if drop(sent.count - 1, fromClient) { continue }
            answers += fromClient ? server.received(datagram) : client.received(datagram)
        }
        return answers
    }
}

extension DTLSState {
    var keys: SRTPKeys? {
        if case .connected(let keys) = self { keys } else { nil }
    }

    var failure: String? {
        if case .failed(let reason) = self { reason } else { nil }
    }
}

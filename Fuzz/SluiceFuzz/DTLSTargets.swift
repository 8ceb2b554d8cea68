import NIOCore
import WebRTC

/// DTLS as far as Sluice reads it: the record splitter and packer, and OpenSSL behind a
/// `DTLSSession` taking a datagram from anyone on the WebRTC port.
enum DTLSTargets {
    static let all = [record]

    /// One certificate for every run: generating a P-256 key per input would be most of the work.
    private static let certificate = try? RTCCertificate.generate()

    /// `DTLSRecord.split` over the bytes: what splits must cover every byte and pack back into
    /// datagrams of whole records, in order, within the MTU; `DTLSRecord.admissible` keeps a
    /// subset (of the association's version alone, once connected). Then a server session takes
    /// the bytes as one datagram (and a timeout and a close): it must answer within the MTU, never
    /// trap. An input whose length is a multiple of 8 also goes to a server that finished a
    /// handshake, which must stay connected: nothing unauthenticated may end it.
    static let record = FuzzTarget("dtls-record", "DTLSRecord.split/pack/admissible, DTLSSession fed the datagram fresh and connected") { input in
        checkRecords(input)
        guard let certificate,
              let server = try? DTLSSession(role: .server, certificate: certificate, remoteFingerprint: nil)
        else { return }
        checkAnswers(server.received(input), mtu: server.mtu)
        _ = server.timeout
        checkAnswers(server.handleTimeout(), mtu: server.mtu)
        checkAnswers(server.close(), mtu: server.mtu)
        guard input.readableBytes % 8 == 0,
              let connected = connectedServer(certificate: certificate)
        else { return }
        checkAnswers(connected.received(input), mtu: connected.mtu)
        guard case .connected = connected.state else {
            preconditionFailure("an unauthenticated datagram ended a connected session: \(connected.state)")
        }
    }

    private static func checkRecords(_ input: ByteBuffer) {
        let admitted = DTLSRecord.admissible(input)
        precondition(admitted.readableBytes <= input.readableBytes, "admissible grew the datagram")
        precondition((try? DTLSRecord.split(admitted)) != nil, "admissible kept a cut-short record")
        let connected = DTLSRecord.admissible(input, version: 0xFEFD)
        precondition((try? DTLSRecord.split(connected))?.allSatisfy { $0.version == 0xFEFD } == true,
                     "admissible kept a record of another version than the association's")
        guard let records = try? DTLSRecord.split(input) else { return }
        let covered = records.reduce(0) { $0 + $1.bytes.readableBytes }
        precondition(covered == input.readableBytes, "records cover \(covered) of \(input.readableBytes) bytes")
        let mtu = 256 + Int(input.getInteger(at: input.readerIndex, as: UInt8.self) ?? 0) * 4
        var again: [DTLSRecord] = []
        for datagram in DTLSRecord.pack(records, mtu: mtu) {
            guard let inside = try? DTLSRecord.split(datagram) else { preconditionFailure("a packed datagram does not split") }
            precondition(datagram.readableBytes <= mtu || inside.count == 1, "a datagram over the MTU holds several records")
            again += inside
        }
        precondition(again == records, "packing changed the records")
    }

    private static func checkAnswers(_ datagrams: [ByteBuffer], mtu: Int) {
        for datagram in datagrams {
            let records = (try? DTLSRecord.split(datagram))?.count ?? 0
            precondition(records > 0, "an answer that is not whole DTLS records")
            precondition(datagram.readableBytes <= mtu || records == 1, "an answer datagram over the MTU")
        }
    }

    /// A server session that completed a handshake with a client in memory (at most 16 exchanges).
    private static func connectedServer(certificate: RTCCertificate) -> DTLSSession? {
        guard let client = try? DTLSSession(role: .client, certificate: certificate, remoteFingerprint: certificate.fingerprint),
              let server = try? DTLSSession(role: .server, certificate: certificate, remoteFingerprint: certificate.fingerprint)
        else { return nil }
        var toServer = client.start()
        for _ in 0..<16 where !toServer.isEmpty {
            let toClient = toServer.flatMap { server.received($0) }
            toServer = toClient.flatMap { client.received($0) }
        }
        guard case .connected = server.state else { preconditionFailure("the in-memory handshake failed: \(server.state)") }
        return server
    }
}

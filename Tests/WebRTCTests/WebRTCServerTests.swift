import Logging
import NIOCore
import NIOPosix
import RTC
import SDP
import WebRTC
import XCTest

/// A real `WebRTCServer` on 127.0.0.1 and `WebRTCClient`s against it: ICE-lite, DTLS and SRTP
/// end to end, media both ways, reports, and every way a session ends.
final class WebRTCServerTests: XCTestCase {
    static let certificate = try! RTCCertificate.generate()
    var group: MultiThreadedEventLoopGroup!

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await group.shutdownGracefully()
    }

    func startServer(consentTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
                     maxSessions: Int = 100, advertisedAddress: String = "127.0.0.1") async throws -> WebRTCServer {
        let configuration = WebRTCConfiguration(host: "127.0.0.1", port: 0, advertisedAddress: advertisedAddress,
                                                consentTimeout: consentTimeout, connectTimeout: connectTimeout,
                                                maxSessions: maxSessions)
        let server = WebRTCServer(configuration: configuration, certificate: Self.certificate, group: group,
                                  logger: Logger(label: "webrtc-test"))
        _ = try await server.start()
        return server
    }

    func session(for client: WebRTCClient, on server: WebRTCServer, delegate: RecordingDelegate) throws -> PeerSession {
        let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
        return try server.makeSession(offer: offer, role: client.options.role == .whep ? .whep : .whip,
                                      ssrcs: (video: 0x5EED_0001, audio: 0x5EED_0002), streamLabel: "test", delegate: delegate)
    }

    static func rtp(sequence: UInt16, ssrc: UInt32, payload: [UInt8], payloadType: UInt8 = 102) -> ByteBuffer {
        var buffer = ByteBuffer()
        RTPPacket.write(marker: true, payloadType: payloadType, sequenceNumber: sequence, timestamp: 9000 &* UInt32(sequence),
                        ssrc: ssrc, payload: ByteBuffer(bytes: payload), into: &buffer)
        return buffer
    }

    static func rtcp(_ packet: RTCPPacket) -> ByteBuffer {
        var buffer = ByteBuffer()
        packet.write(into: &buffer)
        return buffer
    }

    /// WHEP: the server sends RTP and a sender report; the client decrypts the RTP and answers
    /// the report, which gives the session an RTT.
    func testWHEPMediaAndReportsReachTheClient() async throws {
        let server = try await startServer()
        let received = Observed([RTPPacket]())
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep), onRTP: { packet in
            received.update { $0.append(packet) }
        })
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        XCTAssertTrue(session.answer.text.contains("a=ice-lite"))
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        let clientAddress = await client.localAddress
        XCTAssertEqual(session.remoteAddress, clientAddress)

        let payloads = (0..<20).map { index in (0..<(100 + index * 50)).map { UInt8(truncatingIfNeeded: $0 &+ index) } }
        try await session.eventLoop.submit {
            XCTAssertTrue(session.isConnected)
            for (index, payload) in payloads.enumerated() {
                session.sendRTP(Self.rtp(sequence: UInt16(index), ssrc: 0x5EED_0001, payload: payload))
            }
            let ntp = NTPTime.from(unixNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
            session.sendRTCP(Self.rtcp(.senderReport(RTCPSenderReport(ssrc: 0x5EED_0001, ntpTime: ntp, rtpTimestamp: 1,
                                                                      packetCount: 20, octetCount: 9000, reports: []))))
        }.get()
        await fulfillment(of: [received.expectation("20 packets") { $0.count == 20 },
                               delegate.events.expectation("a receiver report") { !$0.rtcp.isEmpty }], timeout: 5)
        XCTAssertEqual(received.current.map { Array($0.payload.readableBytesView) }, payloads)
        XCTAssertEqual(received.current.map(\.header.sequenceNumber), (0..<20).map { UInt16($0) })
        guard case .receiverReport(let report)? = delegate.events.current.rtcp.first?.first else {
            return XCTFail("expected a receiver report, got \(delegate.events.current.rtcp)")
        }
        XCTAssertEqual(report.reports.first?.ssrc, 0x5EED_0001)
        let statistics = try await session.eventLoop.submit { session.statistics }.get()
        XCTAssertEqual(statistics.packetsSent, 21)
        XCTAssertEqual(statistics.packetsReceived, 1)
        XCTAssertEqual(statistics.reportsReceived, 1)
        XCTAssertEqual(statistics.packetsLost, 0)
        let rtt = try XCTUnwrap(statistics.rttMs)
        XCTAssertLessThan(rtt, 1000)
        XCTAssertNotNil(statistics.connectedAt)
        let clientStatistics = try await client.eventLoop.submit { client.statistics }.get()
        XCTAssertEqual(clientStatistics.rtpPacketsReceived, 20)
        XCTAssertEqual(clientStatistics.packetsSent, 1)
        await client.close()
        await server.shutdown()
    }

    /// WHIP: the client sends RTP and a PLI; the session's delegate gets them decrypted and counted.
    func testWHIPMediaAndFeedbackReachTheSession() async throws {
        let server = try await startServer()
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whip))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        XCTAssertTrue(session.answer.text.contains("a=recvonly"))
        try await client.connect(answer: session.answer.text)
        for index in 0..<10 {
            client.sendRTP(Self.rtp(sequence: UInt16(1000 + index), ssrc: client.options.videoSSRC, payload: [UInt8(index), 1, 2, 3]))
        }
        client.sendRTCP(Self.rtcp(.pli(senderSSRC: client.options.videoSSRC, mediaSSRC: 0x5EED_0001)))
        await fulfillment(of: [delegate.events.expectation("10 RTP, 1 RTCP") { $0.rtp.count == 10 && $0.rtcp.count == 1 }], timeout: 5)
        XCTAssertEqual(delegate.events.current.rtp.map(\.header.sequenceNumber), (1000..<1010).map { UInt16($0) })
        XCTAssertEqual(delegate.events.current.rtp.map { $0.payload.getInteger(at: $0.payload.readerIndex, as: UInt8.self) },
                       (0..<10).map { UInt8($0) })
        let statistics = try await session.eventLoop.submit { session.statistics }.get()
        XCTAssertEqual(statistics.rtpPacketsReceived, 10)
        XCTAssertEqual(statistics.plisReceived, 1)
        XCTAssertEqual(statistics.drops.total, 0)
        await client.close()
        await server.shutdown()
    }

    /// A client that knows the wrong ICE password is answered 401 and never bound.
    func testWrongICEPasswordBindsNothing() async throws {
        let server = try await startServer()
        let client = WebRTCClient(group: group, certificate: Self.certificate,
                                  options: .init(role: .whep, checkInterval: .milliseconds(50), connectTimeout: .milliseconds(600)))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        let pwd = try XCTUnwrap(session.answer.text.split(separator: "\r\n").first { $0.hasPrefix("a=ice-pwd:") })
        let forged = session.answer.text.replacingOccurrences(of: String(pwd), with: "a=ice-pwd:" + String(repeating: "x", count: 24))
        do {
            try await client.connect(answer: forged)
            XCTFail("connected with the wrong password")
        } catch {
            XCTAssertTrue("\(error)".contains("401"), "\(error)")
        }
        XCTAssertNil(session.remoteAddress)
        XCTAssertGreaterThan(server.drops.badIntegrity, 0, "\(server.drops)")
        XCTAssertEqual(delegate.events.current.connected, 0)
        await client.close()
        await server.shutdown()
    }

    /// A peer whose DTLS certificate is not the one its offer announced fails the handshake:
    /// the session closes with the DTLS failure and the client's connect throws.
    func testCertificateNotMatchingTheOfferFailsDTLS() async throws {
        let server = try await startServer()
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep))
        let other = try RTCCertificate.generate()
        let forgedOffer = client.offer.replacingOccurrences(of: Self.certificate.fingerprint.attributeValue,
                                                            with: other.fingerprint.attributeValue)
        XCTAssertNotEqual(forgedOffer, client.offer)
        let delegate = RecordingDelegate()
        let session = try server.makeSession(offer: WebRTCOffer(SessionDescription(parsing: forgedOffer)), role: .whep,
                                             ssrcs: (video: 1, audio: 2), streamLabel: "test", delegate: delegate)
        do {
            try await client.connect(answer: session.answer.text)
            XCTFail("connected with a certificate the offer did not announce")
        } catch {}
        await fulfillment(of: [delegate.events.expectation("closed") { !$0.closeReasons.isEmpty }], timeout: 5)
        let reason = try XCTUnwrap(delegate.events.current.closeReasons.first)
        XCTAssertTrue(reason.hasPrefix("DTLS failure"), reason)
        XCTAssertEqual(delegate.events.current.connected, 0)
        await client.close()
        await server.shutdown()
    }

    /// A forged nomination (the session's own peer, which knows the ICE password, naming a
    /// third party's address as the check's source) moves nothing: the third party never answers
    /// the probe, so media keeps going to the peer and none reaches the third party.
    func testANominationFromAnAddressThatDoesNotAnswerMovesNothing() async throws {
        let server = try await startServer()
        let received = Observed([RTPPacket]())
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep),
                                  onRTP: { packet in received.update { $0.append(packet) } })
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        let victimArrivals = Observed([ByteBuffer]())
        let victim = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramCollector(victimArrivals)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let ufrag = try XCTUnwrap(session.answer.text.split(separator: "\r\n").first { $0.hasPrefix("a=ice-ufrag:") }?.dropFirst(12))
        let pwd = try XCTUnwrap(session.answer.text.split(separator: "\r\n").first { $0.hasPrefix("a=ice-pwd:") }?.dropFirst(10))
        let clientUfrag = try XCTUnwrap(client.offer.split(separator: "\r\n").first { $0.hasPrefix("a=ice-ufrag:") }?.dropFirst(12))
        let check = STUNMessage.bindingRequest(transactionID: Array(repeating: 9, count: 12), username: "\(ufrag):\(clientUfrag)",
                                               priority: 1, controlling: 1, useCandidate: true, integrityKey: Array(pwd.utf8))
        // Sent from the victim's socket: what a forged source address looks like to the server.
        try await victim.writeAndFlush(AddressedEnvelope(remoteAddress: SocketAddress(ipAddress: "127.0.0.1", port: server.port!),
                                                         data: check))
        await fulfillment(of: [victimArrivals.expectation("the check's answer and the probe") { $0.count == 2 }], timeout: 5)
        try await session.eventLoop.submit {
            for sequence in 0..<5 { session.sendRTP(Self.rtp(sequence: UInt16(sequence), ssrc: 0x5EED_0001, payload: [1, 2, 3])) }
        }.get()
        await fulfillment(of: [received.expectation("media still at the peer") { $0.count == 5 }], timeout: 5)
        XCTAssertEqual(victimArrivals.current.count, 2, "no media reached the address that never answered")
        let clientAddress = await client.localAddress
        let selected = try await session.eventLoop.submit { session.remoteAddress }.get()
        XCTAssertEqual(selected, clientAddress)
        try await victim.close()
        await client.close()
        await server.shutdown()
    }

    /// A nominating check from a new address moves the session there once the address answers
    /// the server's probe (ICE-lite follows the controlling agent, but only to an address that
    /// proves it receives): media goes to the new address, the old one is a stranger.
    func testANominationFromAnotherAddressMovesTheSession() async throws {
        let server = try await startServer()
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        try await client.connect(answer: session.answer.text)
        let arrivals = Observed([ByteBuffer]())
        let other = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramCollector(arrivals)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        func attribute(_ name: String, in text: String) throws -> String {
            let line = try XCTUnwrap(text.split(separator: "\r\n").first { $0.hasPrefix("a=\(name):") })
            return String(line.dropFirst(name.count + 3))
        }
        let check = STUNMessage.bindingRequest(
            transactionID: Array(repeating: 3, count: 12),
            username: "\(try attribute("ice-ufrag", in: session.answer.text)):\(try attribute("ice-ufrag", in: client.offer))",
            priority: 1, controlling: 1, useCandidate: true, integrityKey: Array(try attribute("ice-pwd", in: session.answer.text).utf8))
        let serverAddress = try SocketAddress(ipAddress: "127.0.0.1", port: server.port!)
        try await other.writeAndFlush(AddressedEnvelope(remoteAddress: serverAddress, data: check))
        await fulfillment(of: [arrivals.expectation("binding success and probe") { $0.count == 2 }], timeout: 5)
        XCTAssertEqual(try STUNMessage(parsing: arrivals.current[0]).messageClass, .successResponse)
        let probe = try STUNMessage(parsing: arrivals.current[1])
        XCTAssertEqual(probe.messageClass, .request)
        let notYet = try await session.eventLoop.submit { session.remoteAddress }.get()
        let clientAddress = await client.localAddress
        XCTAssertEqual(notYet, clientAddress, "media stays until the new address answers")
        let clientPwd = Array(try attribute("ice-pwd", in: client.offer).utf8)
        XCTAssertTrue(STUNMessage.verify(arrivals.current[1], integrityKey: clientPwd))
        let answer = STUNMessage.bindingSuccess(transactionID: probe.transactionID, mapped: try XCTUnwrap(other.localAddress),
                                                integrityKey: clientPwd)
        try await other.writeAndFlush(AddressedEnvelope(remoteAddress: serverAddress, data: answer))
        var moved: SocketAddress?
        for _ in 0..<50 {  // the answer crosses the socket and the loop: a few milliseconds
            moved = try await session.eventLoop.submit { session.remoteAddress }.get()
            if moved == other.localAddress { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTAssertEqual(moved, other.localAddress)
        try await session.eventLoop.submit { session.sendRTP(Self.rtp(sequence: 1, ssrc: 0x5EED_0001, payload: [1, 2, 3])) }.get()
        await fulfillment(of: [arrivals.expectation("SRTP at the new address") { $0.count == 3 }], timeout: 5)
        XCTAssertEqual(PacketClass(firstBytes: arrivals.current[2]), .rtp)
        // The old address is now a stranger: its RTCP is dropped and counted. The client flushes
        // at the end of its loop tick (two hops make sure), and the server reads its socket in
        // order, so once a second check from the new address is answered the RTCP was seen.
        XCTAssertEqual(server.drops.unknownSource, 0)
        client.sendRTCP(Self.rtcp(.pli(senderSSRC: 1, mediaSSRC: 0x5EED_0001)))
        try await client.eventLoop.submit {}.get()
        try await client.eventLoop.submit {}.get()
        try await other.writeAndFlush(AddressedEnvelope(remoteAddress: serverAddress, data: check))
        await fulfillment(of: [arrivals.expectation("second binding success") { $0.count == 4 }], timeout: 5)
        XCTAssertEqual(server.drops.unknownSource, 1, "\(server.drops)")
        XCTAssertTrue(delegate.events.current.rtcp.isEmpty)
        try await other.close()
        await client.close()
        await server.shutdown()
    }

    /// A server advertising a name the client cannot use is reached at the address the client is given.
    func testClientReachesAServerAdvertisingAnotherAddress() async throws {
        let server = try await startServer(advertisedAddress: "203.0.113.9")
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: XCTUnwrap(server.port))
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep, serverAddress: address))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        XCTAssertTrue(session.answer.text.contains("203.0.113.9 \(address.port!) typ host"), session.answer.text)
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        await client.close()
        await server.shutdown()
    }

    /// A peer that stops refreshing consent is closed after `consentTimeout`; one that keeps
    /// refreshing is not.
    func testConsentLostClosesOnlyTheSilentPeer() async throws {
        let server = try await startServer(consentTimeout: .milliseconds(800))
        let silent = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep, consentInterval: nil))
        let chatty = WebRTCClient(group: group, certificate: Self.certificate,
                                  options: .init(role: .whep, consentInterval: .milliseconds(100)))
        let silentDelegate = RecordingDelegate()
        let chattyDelegate = RecordingDelegate()
        let silentSession = try session(for: silent, on: server, delegate: silentDelegate)
        let chattySession = try session(for: chatty, on: server, delegate: chattyDelegate)
        try await chatty.connect(answer: chattySession.answer.text)
        try await silent.connect(answer: silentSession.answer.text)
        await fulfillment(of: [silentDelegate.events.expectation("consent lost") { !$0.closeReasons.isEmpty }], timeout: 5)
        XCTAssertEqual(silentDelegate.events.current.closeReasons, ["consent lost"])
        XCTAssertNil(server.session(id: silentSession.id))
        XCTAssertEqual(chattyDelegate.events.current.closeReasons, [])
        XCTAssertTrue(chattySession.isConnected)
        await silent.close()
        await chatty.close()
        await server.shutdown()
        XCTAssertEqual(chattyDelegate.events.current.closeReasons, ["shutdown"])
    }

    /// A session no peer ever reaches closes after `connectTimeout`.
    func testConnectTimeoutClosesAnUnreachedSession() async throws {
        let server = try await startServer(connectTimeout: .milliseconds(200))
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        XCTAssertNotNil(server.session(id: session.id))
        await fulfillment(of: [delegate.events.expectation("closed") { !$0.closeReasons.isEmpty }], timeout: 5)
        XCTAssertEqual(delegate.events.current.closeReasons, ["connect timeout"])
        XCTAssertNil(server.session(id: session.id))
        XCTAssertTrue(server.sessions.isEmpty)
        await server.shutdown()
    }

    /// Garbage of every class is counted and dropped, and the server keeps serving.
    func testGarbageIsCountedAndDropped() async throws {
        let server = try await startServer()
        let port = try XCTUnwrap(server.port)
        let sender = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let strangerCheck = STUNMessage.bindingRequest(transactionID: Array(repeating: 7, count: 12), username: "nobody00:x",
                                                       priority: 1, controlling: 1, useCandidate: true, integrityKey: [1, 2, 3])
        let garbage: [ByteBuffer] = [
            ByteBuffer(bytes: [0xFF, 0, 1, 2]),                       // no WebRTC packet starts with 255
            ByteBuffer(bytes: [0, 1, 0, 8, 0x21, 0x12]),              // truncated STUN
            strangerCheck,                                             // a check for no session
            Self.rtp(sequence: 1, ssrc: 9, payload: [1, 2, 3]),        // RTP from nobody ICE bound
            ByteBuffer(bytes: [22, 254, 253, 0, 0]),                   // DTLS from nobody
        ]
        for datagram in garbage {
            try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: datagram))
        }
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        try await client.connect(answer: session.answer.text)
        let drops = server.drops
        XCTAssertEqual(drops.unclassified, 1, "\(drops)")
        XCTAssertEqual(drops.malformed, 1, "\(drops)")
        XCTAssertEqual(drops.unknownUser, 1, "\(drops)")
        XCTAssertEqual(drops.unknownSource, 2, "\(drops)")
        try await sender.close()
        await client.close()
        await server.shutdown()
    }

    /// Shutdown closes every session with reason "shutdown"; each peer hears close_notify.
    func testShutdownClosesSessionsWithReason() async throws {
        let server = try await startServer()
        let clientsClosed = Observed([String]())
        let clients = (0..<3).map { _ in
            WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep),
                         onClose: { reason in clientsClosed.update { $0.append(reason) } })
        }
        var delegates: [RecordingDelegate] = []
        for client in clients {
            let delegate = RecordingDelegate()
            delegates.append(delegate)
            try await client.connect(answer: session(for: client, on: server, delegate: delegate).answer.text)
        }
        XCTAssertEqual(server.sessions.count, 3)
        await server.shutdown()
        XCTAssertEqual(delegates.map(\.events.current.closeReasons), Array(repeating: ["shutdown"], count: 3))
        XCTAssertTrue(server.sessions.isEmpty)
        await fulfillment(of: [clientsClosed.expectation("close_notify heard") { $0.count == 3 }], timeout: 5)
        XCTAssertEqual(clientsClosed.current, Array(repeating: "DTLS closed", count: 3))
        for client in clients { await client.close() }
        XCTAssertEqual(clientsClosed.current.count, 3, "a client tells of its end once")
    }

    /// `close(reason:)` (a DELETE) tells the delegate once and unregisters; the session limit holds.
    func testCloseAndSessionLimit() async throws {
        let server = try await startServer(maxSessions: 1)
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep))
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        XCTAssertEqual(session.id.count, 32)
        XCTAssertTrue(session.id.allSatisfy(\.isHexDigit))
        XCTAssertThrowsError(try self.session(for: client, on: server, delegate: RecordingDelegate()))
        session.close(reason: "closed")
        session.close(reason: "again")
        await fulfillment(of: [delegate.events.expectation("closed") { !$0.closeReasons.isEmpty }], timeout: 5)
        try await session.eventLoop.submit {}.get()
        XCTAssertEqual(delegate.events.current.closeReasons, ["closed"])
        XCTAssertNil(server.session(id: session.id))
        XCTAssertEqual(session.closeReason, "closed")
        XCTAssertNoThrow(try self.session(for: client, on: server, delegate: RecordingDelegate()))
        await server.shutdown()
    }
}

/// Keeps every datagram a test socket receives.
final class DatagramCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let arrivals: Observed<[ByteBuffer]>

    init(_ arrivals: Observed<[ByteBuffer]>) {
        self.arrivals = arrivals
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let datagram = unwrapInboundIn(data).data
        arrivals.update { $0.append(datagram) }
    }
}

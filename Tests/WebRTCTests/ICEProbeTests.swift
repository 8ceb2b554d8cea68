import Logging
import NIOCore
import NIOPosix
import RTC
import SDP
@testable import WebRTC
import XCTest

/// The other half of address moves: a client answers the server's probes as a browser does,
/// and a check "from" an address another live session holds takes nothing.
final class ICEProbeTests: XCTestCase {
    var group: MultiThreadedEventLoopGroup!

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await group.shutdownGracefully()
    }

    static func attribute(_ name: String, in text: String) throws -> String {
        let line = try XCTUnwrap(text.split(separator: "\r\n").first { $0.hasPrefix("a=\(name):") })
        return String(line.dropFirst(name.count + 3))
    }

    /// A raw socket stands in for the server: the client's checks reach it, and its probe —
    /// signed with the client's password — is answered with the same transaction id, signed the
    /// same way; one signed with another key is not.
    func testTheClientAnswersAProbeSignedWithItsPassword() async throws {
        let arrivals = Observed([ByteBuffer]())
        let fake = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramCollector(arrivals)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = WebRTCServer(configuration: WebRTCConfiguration(host: "127.0.0.1", port: 0),
                                  certificate: WebRTCServerTests.certificate, group: group, logger: Logger(label: "webrtc-test"))
        _ = try await server.start()
        var options = WebRTCClient.Options(role: .whep)
        options.serverAddress = fake.localAddress
        let client = WebRTCClient(group: group, certificate: WebRTCServerTests.certificate, options: options)
        let session = try server.makeSession(offer: try WebRTCOffer(SessionDescription(parsing: client.offer)), role: .whep,
                                             ssrcs: (video: 1, audio: nil), streamLabel: "test", delegate: RecordingDelegate())
        let connecting = Task { try? await client.connect(answer: session.answer.text) }
        await fulfillment(of: [arrivals.expectation("a check") { !$0.isEmpty }], timeout: 5)
        let maybeClientAddress = await client.localAddress
        let clientAddress = try XCTUnwrap(maybeClientAddress)
        let clientUfrag = try Self.attribute("ice-ufrag", in: client.offer)
        let clientPwd = Array(try Self.attribute("ice-pwd", in: client.offer).utf8)
        let serverUfrag = try Self.attribute("ice-ufrag", in: session.answer.text)
        func probe(_ id: UInt8, key: [UInt8]) -> ByteBuffer {
            STUNMessage.bindingRequest(transactionID: Array(repeating: id, count: 12), username: "\(clientUfrag):\(serverUfrag)",
                                       priority: 1, controlling: nil, controlled: 7, useCandidate: false, integrityKey: key)
        }
        try await fake.writeAndFlush(AddressedEnvelope(remoteAddress: clientAddress, data: probe(0xAB, key: Array("wrong".utf8))))
        try await fake.writeAndFlush(AddressedEnvelope(remoteAddress: clientAddress, data: probe(0xCD, key: clientPwd)))
        await fulfillment(of: [arrivals.expectation("the probe's answer") { datagrams in
            datagrams.contains { (try? STUNMessage(parsing: $0))?.messageClass == .successResponse }
        }], timeout: 5)
        let answers = arrivals.current.filter { (try? STUNMessage(parsing: $0))?.messageClass == .successResponse }
        XCTAssertEqual(answers.count, 1, "only the probe signed with the client's password is answered")
        let answer = try STUNMessage(parsing: answers[0])
        XCTAssertEqual(answer.transactionID, Array(repeating: 0xCD, count: 12))
        XCTAssertTrue(STUNMessage.verify(answers[0], integrityKey: clientPwd))
        await client.close()
        _ = await connecting.value
        try await fake.close()
        await server.shutdown()
    }

    /// A session's first check forged "from" another live session's address is dropped: the
    /// forger gets nothing bound, and the other session's media goes on where it went.
    func testACheckFromAnAddressAnotherSessionHoldsTakesNothing() async throws {
        let server = WebRTCServer(configuration: WebRTCConfiguration(host: "127.0.0.1", port: 0),
                                  certificate: WebRTCServerTests.certificate, group: group, logger: Logger(label: "webrtc-test"))
        _ = try await server.start()
        let received = Observed([RTPPacket]())
        let victim = WebRTCClient(group: group, certificate: WebRTCServerTests.certificate, options: .init(role: .whep),
                                  onRTP: { packet in received.update { $0.append(packet) } })
        let delegate = RecordingDelegate()
        let victimSession = try server.makeSession(offer: try WebRTCOffer(SessionDescription(parsing: victim.offer)), role: .whep,
                                                   ssrcs: (video: 1, audio: nil), streamLabel: "test", delegate: delegate)
        try await victim.connect(answer: victimSession.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        let maybeVictimAddress = await victim.localAddress
        let victimAddress = try XCTUnwrap(maybeVictimAddress)

        let forger = WebRTCClient(group: group, certificate: WebRTCServerTests.certificate, options: .init(role: .whep))
        let forgerSession = try server.makeSession(offer: try WebRTCOffer(SessionDescription(parsing: forger.offer)), role: .whep,
                                                   ssrcs: (video: 1, audio: nil), streamLabel: "test", delegate: RecordingDelegate())
        let check = STUNMessage.bindingRequest(
            transactionID: Array(repeating: 5, count: 12),
            username: "\(try Self.attribute("ice-ufrag", in: forgerSession.answer.text)):\(try Self.attribute("ice-ufrag", in: forger.offer))",
            priority: 1, controlling: 1, useCandidate: true,
            integrityKey: Array(try Self.attribute("ice-pwd", in: forgerSession.answer.text).utf8))
        let dropsBefore = server.drops.unknownSource
        try await server.eventLoop.submit { server.router.received(check, from: victimAddress) }.get()
        let forgerAddress = try await server.eventLoop.submit { forgerSession.remoteAddress }.get()
        XCTAssertNil(forgerAddress)
        XCTAssertEqual(server.drops.unknownSource, dropsBefore + 1)
        try await server.eventLoop.submit {
            victimSession.sendRTP(WebRTCServerTests.rtp(sequence: 1, ssrc: 1, payload: [1, 2, 3]))
        }.get()
        await fulfillment(of: [received.expectation("the victim's media") { $0.count == 1 }], timeout: 5)
        await victim.close()
        await server.shutdown()
    }
}

import Logging
import NIOCore
import NIOPosix
import RTC
import SDP
@testable import WebRTC
import XCTest

/// How `WebRTCClient` takes what arrives: UDP GRO buffers cut into packets (`CoalescedDatagram`,
/// bounded), and header-only media (`verifiesMedia` false) counted from the cleartext RTP header.
final class WebRTCClientReceiveTests: XCTestCase {
    static let certificate = try! RTCCertificate.generate()
    var group: MultiThreadedEventLoopGroup!

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await group.shutdownGracefully()
    }

    func startServer() async throws -> WebRTCServer {
        let configuration = WebRTCConfiguration(host: "127.0.0.1", port: 0, advertisedAddress: "127.0.0.1")
        let server = WebRTCServer(configuration: configuration, certificate: Self.certificate, group: group,
                                  logger: Logger(label: "webrtc-client-test"))
        _ = try await server.start()
        return server
    }

    func session(for client: WebRTCClient, on server: WebRTCServer, delegate: RecordingDelegate) throws -> PeerSession {
        let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
        return try server.makeSession(offer: offer, role: .whep, ssrcs: (video: 0x5EED_0001, audio: 0x5EED_0002),
                                      streamLabel: "test", delegate: delegate)
    }

    /// `count` video packets of `size` payload bytes each (so all protect to one size), sequence
    /// 0…, timestamp 9000 × sequence, each payload filled with its index.
    static func packets(_ count: Int, size: Int) -> [ByteBuffer] {
        (0..<count).map { index in
            WebRTCServerTests.rtp(sequence: UInt16(index), ssrc: 0x5EED_0001, payload: [UInt8](repeating: UInt8(index), count: size))
        }
    }

    // MARK: Cutting a GRO buffer

    func testACoalescedDatagramIsCutAtItsSegmentSize() throws {
        let bytes = (0..<340).map { UInt8(truncatingIfNeeded: $0) }
        let segments = try XCTUnwrap(CoalescedDatagram(ByteBuffer(bytes: bytes), segmentSize: 100))
        XCTAssertEqual(segments.count, 4)
        XCTAssertEqual(segments.map { Array($0.readableBytesView) },
                       [Array(bytes[0..<100]), Array(bytes[100..<200]), Array(bytes[200..<300]), Array(bytes[300..<340])])
        XCTAssertEqual(CoalescedDatagram(ByteBuffer(bytes: bytes[0..<300]), segmentSize: 100)?.map(\.readableBytes), [100, 100, 100])
        XCTAssertEqual(CoalescedDatagram(ByteBuffer(bytes: bytes), segmentSize: 1000)?.map(\.readableBytes), [340])
        XCTAssertEqual(CoalescedDatagram(ByteBuffer(bytes: bytes), segmentSize: .max)?.map(\.readableBytes), [340])
        XCTAssertEqual(CoalescedDatagram(ByteBuffer(), segmentSize: 100)?.count, 0)
        XCTAssertEqual(CoalescedDatagram(ByteBuffer(), segmentSize: 100)?.map(\.readableBytes), [])
    }

    /// A segment size of 0 or less, or more than 128 packets, makes no datagram (the size comes
    /// from a control message, the bytes from the network): nothing divides by zero or traps.
    func testOutOfBoundsSegmentsMakeNoDatagram() {
        let buffer = ByteBuffer(bytes: [UInt8](repeating: 0x80, count: 129))
        XCTAssertNil(CoalescedDatagram(buffer, segmentSize: 0))
        XCTAssertNil(CoalescedDatagram(buffer, segmentSize: -1))
        XCTAssertNil(CoalescedDatagram(buffer, segmentSize: .min))
        XCTAssertNil(CoalescedDatagram(buffer, segmentSize: 1), "129 segments")
        XCTAssertEqual(CoalescedDatagram(buffer.getSlice(at: 0, length: 128)!, segmentSize: 1)?.count, 128)
        XCTAssertEqual(CoalescedDatagram(buffer, segmentSize: 2)?.count, 65)
    }

    /// The client drops an out-of-bounds GRO buffer whole as malformed, and hands each packet of
    /// a good one on as a datagram (here from an unknown source: the client is not connected).
    func testTheClientDropsOutOfBoundsBuffersAndCutsGoodOnes() async throws {
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep, receiveOffload: true))
        let source = try SocketAddress(ipAddress: "127.0.0.1", port: 9)
        let many = ByteBuffer(bytes: [UInt8](repeating: 0x80, count: 129))
        let (statistics, offload) = try await client.eventLoop.submit {
            client.received(coalesced: many, segmentSize: 0, from: source)
            client.received(coalesced: many, segmentSize: -7, from: source)
            client.received(coalesced: many, segmentSize: 1, from: source)
            client.received(coalesced: many.getSlice(at: 0, length: 30)!, segmentSize: 12, from: source)
            return (client.statistics, client.receiveOffloadStatistics)
        }.get()
        XCTAssertEqual(statistics.drops.malformed, 3, "\(statistics.drops)")
        XCTAssertEqual(statistics.drops.unknownSource, 3, "\(statistics.drops)")
        XCTAssertEqual(offload.coalescedDatagrams, 1)
        XCTAssertEqual(offload.segments, 3)
        await client.close()
    }

    // MARK: Header-only media

    func testTheCleartextHeaderOfAnSRTPPacket() throws {
        var packet = WebRTCServerTests.rtp(sequence: 513, ssrc: 0xABCD_0001, payload: [1, 2, 3, 4])
        packet.writeBytes([UInt8](repeating: 0xEE, count: 10))  // the tag
        let header = try XCTUnwrap(WebRTCClient.cleartextHeader(of: packet, tagLength: 10))
        XCTAssertEqual(header.sequenceNumber, 513)
        XCTAssertEqual(header.timestamp, 9000 &* 513)
        XCTAssertEqual(header.ssrc, 0xABCD_0001)
        XCTAssertEqual(header.payloadType, 102)
        XCTAssertTrue(header.marker)
        XCTAssertEqual(header.headerLength, 12)

        var padded = packet
        padded.setInteger(UInt8(0xA0), at: 0)  // P set, the last byte (in the ciphertext) 0xEE
        XCTAssertEqual(WebRTCClient.cleartextHeader(of: padded, tagLength: 10)?.paddingLength, 0)
        XCTAssertEqual(padded.getInteger(at: 0, as: UInt8.self), 0xA0, "the packet itself is left alone")

        XCTAssertNil(WebRTCClient.cleartextHeader(of: packet.getSlice(at: 0, length: 21)!, tagLength: 10), "11 bytes before the tag")
        XCTAssertNil(WebRTCClient.cleartextHeader(of: ByteBuffer(), tagLength: 10))
        var version1 = packet
        version1.setInteger(UInt8(0x40), at: 0)
        XCTAssertNil(WebRTCClient.cleartextHeader(of: version1, tagLength: 10))
        var longExtension = packet
        longExtension.setInteger(UInt8(0x90), at: 0)  // X set: the "extension" (the payload) claims 0x0304 words
        XCTAssertNil(WebRTCClient.cleartextHeader(of: longExtension, tagLength: 10))
    }

    /// A client that does not verify media still counts the server's RTP from its headers, with
    /// their sequence numbers and timestamps, and answers a sender report (SRTCP is verified).
    func testAHeaderOnlyClientCountsTheServersRTP() async throws {
        let server = try await startServer()
        let headers = Observed([RTPHeader]())
        let decrypted = Observed(0)
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: .init(role: .whep, verifiesMedia: false),
                                  onRTP: { _ in decrypted.update { $0 += 1 } },
                                  onRTPHeader: { header in headers.update { $0.append(header) } })
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        try await session.eventLoop.submit {
            for packet in Self.packets(20, size: 300) { session.sendRTP(packet) }
            session.sendRTCP(WebRTCServerTests.rtcp(.senderReport(RTCPSenderReport(ssrc: 0x5EED_0001, ntpTime: 1 << 32, rtpTimestamp: 1,
                                                                                    packetCount: 20, octetCount: 6000, reports: []))))
        }.get()
        await fulfillment(of: [headers.expectation("20 headers") { $0.count == 20 },
                               delegate.events.expectation("a receiver report") { !$0.rtcp.isEmpty }], timeout: 5)
        XCTAssertEqual(headers.current.map(\.sequenceNumber), (0..<20).map { UInt16($0) })
        XCTAssertEqual(headers.current.map(\.timestamp), (0..<20).map { 9000 &* UInt32($0) })
        XCTAssertEqual(Set(headers.current.map(\.ssrc)), [0x5EED_0001])
        XCTAssertEqual(decrypted.current, 0, "nothing decrypted")
        guard case .receiverReport(let report)? = delegate.events.current.rtcp.first?.first else {
            return XCTFail("expected a receiver report, got \(delegate.events.current.rtcp)")
        }
        XCTAssertEqual(report.reports.first?.highestSequence, 19, "loss statistics fed from the headers")
        XCTAssertEqual(report.reports.first?.cumulativeLost, 0)
        let statistics = try await client.eventLoop.submit { client.statistics }.get()
        XCTAssertEqual(statistics.rtpPacketsReceived, 20)
        XCTAssertEqual(statistics.packetsReceived, 21)
        XCTAssertEqual(statistics.drops.total, 0, "\(statistics.drops)")
        await client.close()
        await server.shutdown()
    }

    // MARK: GRO end to end

    /// The server's packets reach a GRO client as one GSO datagram (through a relay that joins
    /// them, as a server sending with UDP_SEGMENT does); the client cuts, decrypts and hands on
    /// every one in order.
    func testAGROClientTakesAGSORunWhole() async throws {
        try XCTSkipUnless(System.supportsUDPReceiveOffload && System.supportsUDPSegmentationOffload, "no UDP GSO/GRO here")
        let server = try await startServer()
        let serverAddress = try SocketAddress(ipAddress: "127.0.0.1", port: try XCTUnwrap(server.port))
        let relay = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CoalescingRelay(server: serverAddress, gather: 20))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let received = Observed([RTPPacket]())
        let options = WebRTCClient.Options(role: .whep, serverAddress: relay.localAddress, receiveOffload: true)
        let client = WebRTCClient(group: group, certificate: Self.certificate, options: options) { packet in
            received.update { $0.append(packet) }
        }
        let delegate = RecordingDelegate()
        let session = try session(for: client, on: server, delegate: delegate)
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        let sent = Self.packets(20, size: 1100)
        try await session.eventLoop.submit { for packet in sent { session.sendRTP(packet) } }.get()
        await fulfillment(of: [received.expectation("20 packets") { $0.count == 20 }], timeout: 5)
        XCTAssertEqual(received.current.map(\.header.sequenceNumber), (0..<20).map { UInt16($0) })
        let payloads = received.current.map { Array($0.payload.readableBytesView) }
        XCTAssertTrue(payloads == sent.map { Array($0.readableBytesView.dropFirst(RTPHeader.fixedLength)) },
                      "payloads of \(payloads.map(\.count)) bytes, first bytes \(payloads.map(\.first))")
        let offload = try await client.eventLoop.submit { client.receiveOffloadStatistics }.get()
        XCTAssertEqual(offload.coalescedDatagrams, 1, "the run arrived as one buffer")
        XCTAssertEqual(offload.segments, 20)
        let drops = try await client.eventLoop.submit { client.statistics.drops }.get()
        XCTAssertEqual(drops.total, 0, "\(drops)")
        await client.close()
        try await relay.close()
        await server.shutdown()
    }
}

/// A UDP relay between one client and the server that passes everything on as it comes,
/// except the server's first `gather` RTP packets (all of one size): those go to the client as
/// one GSO datagram with their size as its segment size.
private final class CoalescingRelay: ChannelInboundHandler, @unchecked Sendable {  // confined to its channel's loop
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let server: SocketAddress
    let gather: Int
    private var client: SocketAddress?
    private var run: [ByteBuffer] = []

    init(server: SocketAddress, gather: Int) {
        self.server = server
        self.gather = gather
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server else {
            client = envelope.remoteAddress
            return context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: server, data: envelope.data)), promise: nil)
        }
        guard let client else { return }
        guard PacketClass(firstBytes: envelope.data) == .rtp, run.count < gather else {
            return context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: envelope.data)), promise: nil)
        }
        run.append(envelope.data)
        guard run.count == gather else { return }
        var datagram = context.channel.allocator.buffer(capacity: run.reduce(0) { $0 + $1.readableBytes })
        for packet in run { datagram.writeImmutableBuffer(packet) }
        let metadata = AddressedEnvelope<ByteBuffer>.Metadata(ecnState: .transportNotCapable, packetInfo: nil,
                                                              segmentSize: run[0].readableBytes)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: datagram, metadata: metadata)), promise: nil)
    }
}

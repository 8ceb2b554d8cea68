import Logging
import NIOCore
import NIOPosix
import RTC
import SDP
@testable import WebRTC
import XCTest

/// A frame's packets to one peer in one batch: how they are grouped into segmented datagrams
/// (UDP GSO), and that a real client gets every packet, in order and intact, with segmentation on
/// and off.
final class SegmentedSendTests: XCTestCase {
    typealias Datagram = SegmentedDatagrams.Datagram

    static func group(_ lengths: [Int], segments: Bool = true) -> [Datagram] {
        var grouping = SegmentedDatagrams(segments: segments)
        var offset = 0
        var datagrams: [Datagram] = []
        for length in lengths {
            if let datagram = grouping.add(offset: offset, length: length) { datagrams.append(datagram) }
            offset += length
        }
        if let datagram = grouping.finish() { datagrams.append(datagram) }
        return datagrams
    }

    func testARunOfOneSizeAndAShorterLastPacketIsOneDatagram() {
        XCTAssertEqual(Self.group([1210, 1210, 1210, 1210, 1210, 700]),
                       [Datagram(offset: 0, length: 6750, packets: 6, segmentSize: 1210)])
        XCTAssertEqual(Self.group([700]), [Datagram(offset: 0, length: 700, packets: 1, segmentSize: nil)])
        XCTAssertEqual(Self.group([1210, 300]), [Datagram(offset: 0, length: 1510, packets: 2, segmentSize: 1210)])
    }

    func testALongerPacketOrOneAfterTheShorterOneStartsTheNext() {
        // An IDR: the STAP-A of SPS/PPS, a NAL's fragments, its shorter last one, the next NAL's.
        XCTAssertEqual(Self.group([40, 1210, 1210, 1210, 500, 1210, 1210]), [
            Datagram(offset: 0, length: 40, packets: 1, segmentSize: nil),
            Datagram(offset: 40, length: 4130, packets: 4, segmentSize: 1210),
            Datagram(offset: 4170, length: 2420, packets: 2, segmentSize: 1210),
        ])
        // Two short packets: the second cannot follow the one that closed the datagram.
        XCTAssertEqual(Self.group([1210, 300, 300]).map(\.packets), [2, 1])
        XCTAssertEqual(Self.group([300, 300, 300]).map(\.packets), [3])
    }

    func testDatagramsStayWithinTheKernelsSegmentAndByteLimits() {
        XCTAssertEqual(Self.group(Array(repeating: 1000, count: 65)).map(\.packets), [64, 1])
        let large = Self.group(Array(repeating: 1210, count: 60))
        XCTAssertEqual(large.map(\.packets), [53, 7])
        XCTAssertTrue(large.allSatisfy { $0.length <= SegmentedDatagrams.maxBytes })
        XCTAssertEqual(large[1].offset, 53 * 1210)
    }

    func testWithoutSegmentationEveryPacketIsItsOwnDatagram() {
        let datagrams = Self.group([1210, 1210, 700], segments: false)
        XCTAssertEqual(datagrams, [Datagram(offset: 0, length: 1210, packets: 1, segmentSize: nil),
                                   Datagram(offset: 1210, length: 1210, packets: 1, segmentSize: nil),
                                   Datagram(offset: 2420, length: 700, packets: 1, segmentSize: nil)])
    }

    // MARK: Over loopback

    /// A started server and a WHEP client connected to a session of it (video SSRC 0x5EED0001);
    /// what the client decrypts is in `received`.
    private func connected(_ configuration: WebRTCConfiguration, on group: any EventLoopGroup) async throws
        -> (WebRTCServer, PeerSession, WebRTCClient, Observed<[RTPPacket]>) {
        let server = WebRTCServer(configuration: configuration, certificate: WebRTCServerTests.certificate, group: group,
                                  logger: Logger(label: "webrtc-test"))
        _ = try await server.start()
        let received = Observed([RTPPacket]())
        let client = WebRTCClient(group: group, certificate: WebRTCServerTests.certificate, options: .init(role: .whep),
                                  onRTP: { packet in received.update { $0.append(packet) } })
        let delegate = RecordingDelegate()
        let offer = try WebRTCOffer(SessionDescription(parsing: client.offer))
        let session = try server.makeSession(offer: offer, role: .whep, ssrcs: (video: 0x5EED_0001, audio: nil),
                                             streamLabel: "test", delegate: delegate)
        try await client.connect(answer: session.answer.text)
        await fulfillment(of: [delegate.events.expectation("connected") { $0.connected == 1 }], timeout: 5)
        return (server, session, client, received)
    }

    func testABatchReachesAClientWholeWithSegmentation() async throws {
        try await sendBatch(segmentationOffload: true)
    }

    func testABatchReachesAClientWholeWithoutSegmentation() async throws {
        try await sendBatch(segmentationOffload: false)
    }

    /// A write the kernel refuses (to the broadcast address, without SO_BROADCAST: EACCES) makes
    /// NIO close the socket; the server opens it again on the same port, without segmentation,
    /// and a connected session's media goes on.
    func testASocketClosedByAWriteErrorIsOpenedAgainAndSessionsGoOn() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (server, session, client, received) = try await connected(WebRTCConfiguration(host: "127.0.0.1", port: 0), on: group)
        let port = try XCTUnwrap(server.port)

        let broadcast = try SocketAddress(ipAddress: "255.255.255.255", port: 9)
        try await session.eventLoop.submit {
            _ = server.router.write(ByteBuffer(bytes: [0x80, 0, 0, 0]), to: broadcast)
        }.get()
        var sequence: UInt16 = 0
        for _ in 0..<50 where received.current.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            try await session.eventLoop.submit {
                session.sendRTP(WebRTCServerTests.rtp(sequence: sequence, ssrc: 0x5EED_0001, payload: [1, 2, 3]))
            }.get()
            sequence += 1
        }
        XCTAssertFalse(received.current.isEmpty, "no media after the socket closed")
        XCTAssertFalse(server.segmentsDatagrams)
        XCTAssertEqual(server.socketReopens, 1)
        XCTAssertEqual(server.port, port)
        XCTAssertNil(session.closeReason)
        await client.close()
        await server.shutdown()
        try await group.shutdownGracefully()
    }

    /// Only unicast addresses with a port may be peers: a check "from" a broadcast, multicast or
    /// unspecified address is dropped before anything is written back to it.
    func testOnlyUnicastAddressesArePeers() throws {
        for peer in ["127.0.0.1", "10.1.2.3", "192.168.1.255", "::1", "2001:db8::1", "::ffff:10.0.0.1"] {
            XCTAssertTrue(try SocketAddress(ipAddress: peer, port: 5000).isUnicastPeer, peer)
        }
        for other in ["255.255.255.255", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "::", "ff02::1",
                      "::ffff:255.255.255.255", "::ffff:224.0.0.1"] {
            XCTAssertFalse(try SocketAddress(ipAddress: other, port: 5000).isUnicastPeer, other)
        }
        XCTAssertFalse(try SocketAddress(ipAddress: "127.0.0.1", port: 0).isUnicastPeer)
    }

    /// Three frames' worth of packets (full fragments, shorter last ones, a small single NAL)
    /// sent as batches with a rewritten payload type; the client decrypts every one.
    private func sendBatch(segmentationOffload: Bool) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let configuration = WebRTCConfiguration(host: "127.0.0.1", port: 0, segmentationOffload: segmentationOffload)
        let (server, session, client, received) = try await connected(configuration, on: group)
        XCTAssertEqual(server.segmentsDatagrams, segmentationOffload && System.supportsUDPSegmentationOffload)

        let sizes = [[40, 1188, 1188, 1188, 500], [1188, 1188, 1188, 1188, 1188, 1188, 900, 1188, 20], [60]]
        var sequence: UInt16 = 0
        var frames: [[ByteBuffer]] = []
        for frame in sizes {
            frames.append(frame.map { size in
                defer { sequence += 1 }
                let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) }
                return WebRTCServerTests.rtp(sequence: sequence, ssrc: 0x5EED_0001, payload: payload, payloadType: 102)
            })
        }
        try await session.eventLoop.submit {
            for frame in frames { session.sendRTP(frame, payloadType: 96) }
        }.get()
        let total = sizes.joined().count
        await fulfillment(of: [received.expectation("\(total) packets") { $0.count == total }], timeout: 5)
        XCTAssertEqual(received.current.map(\.header.sequenceNumber), (0..<total).map { UInt16($0) })
        XCTAssertEqual(received.current.map(\.payload.readableBytes), Array(sizes.joined()))
        XCTAssertTrue(received.current.allSatisfy { $0.header.payloadType == 96 && $0.header.marker })
        for packet in received.current {
            let first = UInt8(truncatingIfNeeded: Int(packet.header.sequenceNumber))
            XCTAssertEqual(packet.payload.getInteger(at: packet.payload.readerIndex, as: UInt8.self), first)
        }
        let statistics = try await session.eventLoop.submit { session.statistics }.get()
        XCTAssertEqual(statistics.packetsSent, total)
        await client.close()
        await server.shutdown()
        try await group.shutdownGracefully()
    }
}

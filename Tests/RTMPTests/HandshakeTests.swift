import Foundation
import NIOCore
import Testing
@testable import RTMP

@Suite struct HandshakeTests {
    @Test func plainHandshakeEchoesC1() throws {
        var handshake = ServerHandshake()
        let c1 = (0..<1536).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var input = ByteBuffer(bytes: [3] + Array(repeating: 0, count: 8) + c1[8...])
        let reply = try #require(try handshake.received(&input))
        #expect(reply.readableBytes == 1 + 2 * 1536)
        #expect(reply.getInteger(at: 0, as: UInt8.self) == 3)
        #expect(reply.getBytes(at: 1 + 1536, length: 1536) == Array(repeating: 0, count: 8) + c1[8...])
        #expect(handshake.state == .awaitingC2)
        var c2 = ByteBuffer(bytes: Array(repeating: 1, count: 1536))
        #expect(try handshake.received(&c2) == nil)
        #expect(handshake.state == .done)
    }

    @Test func digestHandshakeSignsS1AndS2() throws {
        var c1 = (0..<1536).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        c1.replaceSubrange(4..<8, with: [9, 0, 124, 2])  // a client version, as ffmpeg sends
        HandshakeDigest.sign(&c1, scheme: 8, key: HandshakeDigest.clientKey)
        var handshake = ServerHandshake()
        var input = ByteBuffer(bytes: [3] + c1)
        let reply = try #require(try handshake.received(&input))
        let s1 = reply.getBytes(at: 1, length: 1536)!
        let s2 = reply.getBytes(at: 1 + 1536, length: 1536)!
        // S1 carries a server digest in the client's scheme.
        #expect(HandshakeDigest.find(in: s1, key: HandshakeDigest.serverKey)?.scheme == 8)
        // S2's last 32 bytes are keyed from the client's digest (what Flash clients verify).
        let clientDigest = try #require(HandshakeDigest.find(in: c1, key: HandshakeDigest.clientKey)).digest
        let key = HandshakeDigest.hmac(clientDigest, key: HandshakeDigest.serverFullKey)
        #expect(Array(s2[1504...]) == HandshakeDigest.hmac(s2[0..<1504], key: key))
    }

    @Test func ffmpegSendsADigestC1() throws {
        let capture = try Fixture.ffmpegPublish()
        #expect(capture[0] == 3)
        #expect(HandshakeDigest.find(in: Array(capture[1...1536]), key: HandshakeDigest.clientKey) != nil)
    }

    @Test func unsupportedVersionIsRefused() {
        var handshake = ServerHandshake()
        var input = ByteBuffer(bytes: [6] + Array(repeating: 0, count: 1536))
        #expect(throws: RTMPError.self) { try handshake.received(&input) }
    }

    @Test func clientHandshakeCompletesAgainstTheServer() throws {
        var client = ClientHandshake()
        var server = ServerHandshake()
        var c0c1 = client.start()
        var reply = try #require(try server.received(&c0c1))
        var c2 = try #require(try client.received(&reply))
        #expect(try server.received(&c2) == nil)
        #expect(server.state == .done && client.isDone)
    }
}

enum Fixture {
    static func ffmpegPublish() throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "ffmpeg-publish", withExtension: "bin",
                                                 subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }
}

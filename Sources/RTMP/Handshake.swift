import Crypto
import Foundation
import NIOCore

/// The server side of the RTMP handshake (RTMP specification 1.0 §5.2), including the digest
/// ("complex") handshake that Flash-era clients, ffmpeg, OBS and librtmp send: when C1 carries a
/// valid HMAC-SHA256 digest, S1 and S2 carry the digests such clients verify. A C1 without one
/// gets the plain handshake (S2 echoes C1).
public struct ServerHandshake: Sendable {
    public static let packetSize = 1536

    public enum State: Sendable, Hashable {
        case awaitingC0C1
        case awaitingC2
        case done
    }

    public private(set) var state = State.awaitingC0C1
    private var filler: HandshakeFiller

    /// - Parameter seed: seeds the filler bytes of S1 and S2; random by default.
    public init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.filler = HandshakeFiller(seed: seed)
    }

    /// Consumes what it can from `buffer`.
    /// - Returns: bytes to send (S0+S1+S2 once C0+C1 are in), or `nil` when there is nothing to send.
    /// - Throws: `RTMPError.handshakeFailed` for an unsupported version byte.
    public mutating func received(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        switch state {
        case .awaitingC0C1:
            guard buffer.readableBytes >= 1 + Self.packetSize else { return nil }
            let version = buffer.readInteger(as: UInt8.self)!
            // 3 is plain RTMP; 6 (RTMPE) is refused because Sluice does not implement its encryption.
            guard version == 3 else { throw RTMPError(.handshakeFailed, "RTMP version byte \(version)") }
            let c1 = buffer.readBytes(length: Self.packetSize)!
            state = .awaitingC2
            return response(to: c1)
        case .awaitingC2:
            guard buffer.readableBytes >= Self.packetSize else { return nil }
            buffer.moveReaderIndex(forwardBy: Self.packetSize)  // C2 is not checked: clients vary too much
            state = .done
            return nil
        case .done:
            return nil
        }
    }

    private mutating func response(to c1: [UInt8]) -> ByteBuffer {
        var s1 = randomBytes(Self.packetSize)
        s1.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0x04, 0x05, 0x00, 0x01])  // time 0, server version 4.5.0.1
        var s2: [UInt8]
        if let (scheme, clientDigest) = HandshakeDigest.find(in: c1, key: HandshakeDigest.clientKey) {
            HandshakeDigest.sign(&s1, scheme: scheme, key: HandshakeDigest.serverKey)
            s2 = randomBytes(Self.packetSize)
            let key = HandshakeDigest.hmac(clientDigest, key: HandshakeDigest.serverFullKey)
            let signature = HandshakeDigest.hmac(s2[0..<(Self.packetSize - 32)], key: key)
            s2.replaceSubrange((Self.packetSize - 32)..<Self.packetSize, with: signature)
        } else {
            s1.replaceSubrange(4..<8, with: [0, 0, 0, 0])
            s2 = c1
        }
        var out = ByteBuffer()
        out.reserveCapacity(1 + 2 * Self.packetSize)
        out.writeInteger(UInt8(3))
        out.writeBytes(s1)
        out.writeBytes(s2)
        return out
    }

    private mutating func randomBytes(_ count: Int) -> [UInt8] {
        filler.bytes(count)
    }
}

/// Filler for handshake packets. The bytes only need to differ between connections, not to be
/// secret, so one seed drives a SplitMix64 sequence instead of thousands of system-random calls.
struct HandshakeFiller: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: next()) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

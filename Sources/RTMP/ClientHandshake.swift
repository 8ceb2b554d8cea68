import NIOCore

/// The client side of the plain handshake, for Sluice's own clients (load generator, tests).
public struct ClientHandshake: Sendable {
    public private(set) var isDone = false

    public init() {}

    /// C0 and C1: version 3, time 0, zero version field (plain handshake), pseudo-random filler.
    public func start() -> ByteBuffer {
        var out = ByteBuffer()
        out.writeInteger(UInt8(3))
        out.writeRepeatingByte(0, count: 8)
        for index in 0..<(ServerHandshake.packetSize - 8) { out.writeInteger(UInt8(truncatingIfNeeded: index &* 31)) }
        return out
    }

    /// Consumes S0+S1+S2 once all are buffered and returns C2 (an echo of S1).
    public mutating func received(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard !isDone, buffer.readableBytes >= 1 + 2 * ServerHandshake.packetSize else { return nil }
        guard buffer.readInteger(as: UInt8.self) == 3 else { throw RTMPError(.handshakeFailed, "server version byte") }
        let s1 = buffer.readSlice(length: ServerHandshake.packetSize)!
        buffer.moveReaderIndex(forwardBy: ServerHandshake.packetSize)
        isDone = true
        return s1
    }
}

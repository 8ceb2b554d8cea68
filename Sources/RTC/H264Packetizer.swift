import NIOCore

/// H.264 access units into RTP payloads (RFC 6184, packetization-mode 1): a NAL unit that fits
/// goes alone (§5.6), a larger one in FU-A fragments (§5.8), parameter sets together in one
/// STAP-A (§5.7.1) ahead of the frame.
public struct H264Packetizer: Sendable {
    /// Largest RTP payload in bytes (1188 keeps a packet with headers and SRTP's tag under 1232).
    public let maxPayloadSize: Int

    /// - Parameter maxPayloadSize: bytes per payload, at least 16 (smaller values are raised).
    public init(maxPayloadSize: Int = 1188) {
        self.maxPayloadSize = max(16, maxPayloadSize)
    }

    /// `nalUnits`: the access unit's NAL units without length prefixes or start codes. When
    /// `parameterSets` is non-empty (SPS, PPS) they go first in one STAP-A (each alone when
    /// together they do not fit). Empty units and access unit delimiters (type 9) are left out.
    /// Returns RTP payloads in order; the caller sets the marker bit on the last.
    public func payloads(nalUnits: [ByteBuffer], parameterSets: [ByteBuffer]) -> [ByteBuffer] {
        var payloads: [ByteBuffer] = []
        payloads.reserveCapacity(nalUnits.count + 2)
        let sets = parameterSets.filter { $0.readableBytes > 0 }
        if !sets.isEmpty {
            if let aggregate = stapA(sets) {
                payloads.append(aggregate)
            } else {
                sets.forEach { append($0, to: &payloads) }
            }
        }
        for unit in nalUnits {
            guard let header = H264NAL.header(unit), H264NAL.type(header) != H264NAL.accessUnitDelimiter else { continue }
            append(unit, to: &payloads)
        }
        return payloads
    }

    /// One STAP-A of `units` (each at most 65535 bytes), nil when it would not fit a payload.
    private func stapA(_ units: [ByteBuffer]) -> ByteBuffer? {
        let size = units.reduce(1) { $0 + 2 + $1.readableBytes }
        guard size <= maxPayloadSize, units.allSatisfy({ $0.readableBytes <= 0xFFFF }) else { return nil }
        let nri = units.reduce(UInt8(0)) { max($0, (H264NAL.header($1) ?? 0) & 0x60) }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeInteger(nri | H264NAL.stapA)
        for unit in units {
            buffer.writeInteger(UInt16(unit.readableBytes))
            buffer.writeImmutableBuffer(unit)
        }
        return buffer
    }

    /// The unit itself when it fits, else its FU-A fragments (one buffer, sliced per fragment).
    private func append(_ unit: ByteBuffer, to payloads: inout [ByteBuffer]) {
        guard unit.readableBytes > maxPayloadSize else {
            payloads.append(unit)
            return
        }
        let header = H264NAL.header(unit) ?? 0
        let indicator = (header & 0xE0) | H264NAL.fuA
        let chunk = maxPayloadSize - 2
        var body = unit
        body.moveReaderIndex(forwardBy: 1)
        let count = (body.readableBytes + chunk - 1) / chunk
        var storage = ByteBufferAllocator().buffer(capacity: body.readableBytes + 2 * count)
        var offsets: [Int] = []
        offsets.reserveCapacity(count + 1)
        for index in 0..<count {
            let piece = body.readSlice(length: min(chunk, body.readableBytes)) ?? ByteBuffer()
            let start = index == 0 ? UInt8(0x80) : 0
            let end = index == count - 1 ? UInt8(0x40) : 0
            offsets.append(storage.writerIndex)
            storage.writeInteger(indicator)
            storage.writeInteger(start | end | H264NAL.type(header))
            storage.writeImmutableBuffer(piece)
        }
        offsets.append(storage.writerIndex)
        // Sliced only once written: a slice taken earlier would make every later write copy the storage.
        for index in 0..<count {
            payloads.append(storage.getSlice(at: offsets[index], length: offsets[index + 1] - offsets[index]) ?? ByteBuffer())
        }
    }
}

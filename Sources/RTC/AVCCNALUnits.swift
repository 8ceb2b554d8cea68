import NIOCore

/// NAL units of an AVCC (ISO/IEC 14496-15) access unit, as FLV and MP4 carry them: each
/// behind a big-endian length of 1, 2 or 4 bytes (`AVCConfiguration.nalLengthSize`).
public enum AVCCNALUnits {
    /// Slices each NAL unit out of `buffer` (no copy). Zero-length units are skipped; a length
    /// running past the buffer throws.
    ///
    /// - Parameter lengthSize: 1, 2 or 4.
    public static func split(_ buffer: ByteBuffer, lengthSize: Int) throws(RTCError) -> [ByteBuffer] {
        guard lengthSize == 1 || lengthSize == 2 || lengthSize == 4 else {
            throw RTCError("AVCC NAL length size \(lengthSize), not 1, 2 or 4")
        }
        var input = buffer
        var units: [ByteBuffer] = []
        while input.readableBytes > 0 {
            guard let length = readLength(&input, size: lengthSize) else {
                throw RTCError("AVCC NAL length cut short")
            }
            guard let unit = input.readSlice(length: length) else {
                throw RTCError("AVCC NAL unit of \(length) bytes runs past the \(input.readableBytes) left")
            }
            if length > 0 { units.append(unit) }
        }
        return units
    }

    private static func readLength(_ input: inout ByteBuffer, size: Int) -> Int? {
        switch size {
        case 1: input.readInteger(as: UInt8.self).map(Int.init)
        case 2: input.readInteger(as: UInt16.self).map(Int.init)
        default: input.readInteger(as: UInt32.self).flatMap { Int(exactly: $0) }
        }
    }
}

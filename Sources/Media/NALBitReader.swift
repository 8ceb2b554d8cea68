/// Reads the bits of one NAL unit's RBSP, MSB first, with Exp-Golomb codes (ITU-T H.264 §9.1).
/// Emulation-prevention bytes (`00 00 03`) are removed first, so the reader sees the RBSP.
struct NALBitReader {
    private let bytes: [UInt8]
    private var bit = 0

    init<Bytes: Collection>(nal: Bytes) where Bytes.Element == UInt8 {
        var rbsp: [UInt8] = []
        rbsp.reserveCapacity(nal.count)
        var zeros = 0
        for byte in nal {
            if zeros >= 2, byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            rbsp.append(byte)
        }
        bytes = rbsp
    }

    mutating func bits(_ count: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard bit < bytes.count * 8 else { throw MediaFormatError(.truncated, "parameter set ended early") }
            value = value << 1 | UInt32(bytes[bit >> 3] >> (7 - UInt8(bit & 7)) & 1)
            bit += 1
        }
        return value
    }

    mutating func flag() throws -> Bool { try bits(1) == 1 }

    mutating func skip(_ count: Int) throws { _ = try bits(count) }

    /// ue(v): at most 2³² − 2, since codes longer than 32 bits are refused.
    mutating func unsignedGolomb() throws -> UInt32 {
        var leadingZeros = 0
        while try bits(1) == 0 {
            leadingZeros += 1
            guard leadingZeros < 32 else { throw MediaFormatError(.malformed, "Exp-Golomb code too long") }
        }
        return leadingZeros == 0 ? 0 : (1 << leadingZeros) - 1 + (try bits(leadingZeros))
    }

    /// ue(v) for a syntax element whose semantics bound it to `0...limit`; anything larger is a
    /// malformed parameter set, refused before any arithmetic runs on it.
    mutating func unsignedGolomb(atMost limit: Int, _ element: String) throws -> Int {
        let value = Int(try unsignedGolomb())
        guard value <= limit else { throw MediaFormatError(.malformed, "\(element) \(value) over \(limit)") }
        return value
    }

    /// se(v) (H.264 §9.1.1): codeNum k maps to (−1)^(k+1)·⌈k÷2⌉, so −(2³¹ − 1)…2³¹ − 1 here,
    /// which needs 64 bits to hold without trapping.
    mutating func signedGolomb() throws -> Int64 {
        let code = Int64(try unsignedGolomb())
        return code & 1 == 1 ? code / 2 + 1 : -(code / 2)
    }
}

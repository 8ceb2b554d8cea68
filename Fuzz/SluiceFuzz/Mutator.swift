/// SplitMix64: a small, fast generator whose whole state is one seed, so any mutation can be
/// made again from its index alone.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seeded mutations of the deterministic pass: bit flips, boundary bytes and integers,
/// big, negative and NaN doubles, truncations, deletions, duplications, insertions, splices of
/// two seeds and tokens that break text parsers. Mutation `index` of a target is a pure
/// function of the target's name, the seeds and `index`.
struct Mutator {
    /// Largest mutated input, bytes.
    static let maxSize = 1 << 16

    let seeds: [[UInt8]]
    let targetSeed: UInt64

    init(target: String, seeds: [[UInt8]]) {
        self.seeds = seeds.isEmpty ? [[]] : seeds
        // FNV-1a of the name: every target gets its own, stable sequence.
        targetSeed = target.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// Which seed mutation `index` starts from.
    func baseIndex(of index: Int) -> Int {
        index % seeds.count
    }

    func mutation(_ index: Int) -> [UInt8] {
        var random = SplitMix64(seed: targetSeed ^ UInt64(index) &* 0xD6E8_FEB8_6659_FD93)
        var bytes = seeds[baseIndex(of: index)]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            mutate(&bytes, using: &random)
        }
        return Array(bytes.prefix(Self.maxSize))
    }

    private static let integers: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0xFF_FFFF, 0x7FFF_FFFF,
                                             0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, .max]
    private static let doubles: [Double] = [.nan, -.nan, .infinity, -.infinity, 1e300, -1e300, -1, -0.0, 0x1p63, 0x1p64,
                                            -0x1p63, .leastNonzeroMagnitude, 4_294_967_296, 2_147_483_648.5]
    private static let tokens: [String] = ["-1", "0", "+1", "00", "18446744073709551616", "9223372036854775808",
                                           "-9223372036854775809", "NaN", "1e309", "-0", "1.5", "%00", "%2F", "..", "//",
                                           "?", "&", "=", "#", "\"", "\\", "{", "}", "[", "]", ":", ",", "null", "true",
                                           "\"\":", "\u{0}", "\u{FEFF}", "é", "👍", "\r\n", " "]

    private func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<11, using: &random) {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1 where !bytes.isEmpty:
            bytes[position] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF].randomElement(using: &random)!
        case 2:
            let value = Self.integers.randomElement(using: &random)!
            let width = [1, 2, 3, 4, 8].randomElement(using: &random)!
            overwrite(&bytes, at: position, with: (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
        case 3:
            let bits = Self.doubles.randomElement(using: &random)!.bitPattern
            overwrite(&bytes, at: position, with: (0..<8).reversed().map { UInt8(truncatingIfNeeded: bits >> ($0 * 8)) })
        case 4:
            bytes.removeSubrange(position...)
        case 5 where !bytes.isEmpty:
            bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...64, using: &random)))
        case 6 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...256, using: &random))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 7:
            let count = Int.random(in: 1...32, using: &random)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
        case 8:
            let other = seeds.randomElement(using: &random)!
            let from = other.isEmpty ? 0 : Int.random(in: 0..<other.count, using: &random)
            bytes = Array(bytes[..<position]) + other[from...]
        case 9:
            bytes.insert(contentsOf: Array(Self.tokens.randomElement(using: &random)!.utf8), at: position)
        default:
            let count = Int.random(in: 1...1024, using: &random)
            bytes.insert(contentsOf: repeatElement(bytes.isEmpty ? 0 : bytes[position], count: count), at: position)
        }
    }

    private func overwrite(_ bytes: inout [UInt8], at position: Int, with value: [UInt8]) {
        let end = min(bytes.count, position + value.count)
        bytes.replaceSubrange(position..<end, with: value)
    }
}

/// A QR code (ISO/IEC 18004, model 2) of some text: byte mode, error correction level M, the
/// smallest version that holds it, the mask with the lowest penalty. The console shows push and
/// play URLs with these; nothing leaves the server to draw them.
struct QRCode: Sendable {
    /// Modules per side.
    let size: Int
    let version: Int
    /// Row-major, `true` is dark.
    private(set) var modules: [Bool]

    /// Bytes one code can hold at level M (version 40).
    static let capacity = 2331

    /// `nil` when the text is longer than `capacity` bytes.
    init?(text: String) {
        let bytes = Array(text.utf8)
        guard let version = (1...40).first(where: { Self.dataCapacity(version: $0) >= Self.bitLength(byteCount: bytes.count, version: $0) })
        else { return nil }
        self.version = version
        size = version * 4 + 17
        modules = Array(repeating: false, count: size * size)
        var reserved = Array(repeating: false, count: size * size)
        drawFunctionPatterns(reserved: &reserved)
        let codewords = Self.interleavedCodewords(data: Self.dataCodewords(bytes, version: version), version: version)
        drawCodewords(codewords, reserved: reserved)
        let unmasked = modules
        var best: (mask: Int, penalty: Int)?
        for mask in 0..<8 {
            modules = unmasked
            apply(mask: mask, reserved: reserved)
            drawFormatBits(mask: mask)
            let penalty = self.penalty
            if best == nil || penalty < best!.penalty { best = (mask, penalty) }
        }
        modules = unmasked
        apply(mask: best!.mask, reserved: reserved)
        drawFormatBits(mask: best!.mask)
    }

    func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// An SVG of the code with a four-module quiet zone, one path of unit squares.
    func svg(title: String = "QR code") -> String {
        let side = size + 8
        var path = ""
        for y in 0..<size {
            for x in 0..<size where isDark(x: x, y: y) { path += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges" role="img">\
            <title>\(Self.escapeXML(title))</title><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }

    // MARK: - Capacity and data

    /// Error-correction codewords per block at level M, by version.
    private static let eccPerBlock = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
                                      26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28]
    /// Blocks at level M, by version.
    private static let blockCount = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
                                     17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49]

    /// Modules left for data and error correction once the function patterns are drawn.
    private static func rawModules(version: Int) -> Int {
        var count = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            count -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { count -= 36 }
        }
        return count
    }

    private static func totalCodewords(version: Int) -> Int { rawModules(version: version) / 8 }

    private static func dataCodewordCount(version: Int) -> Int {
        totalCodewords(version: version) - eccPerBlock[version - 1] * blockCount[version - 1]
    }

    private static func dataCapacity(version: Int) -> Int { dataCodewordCount(version: version) * 8 }

    /// Mode, count and payload bits of `byteCount` bytes.
    private static func bitLength(byteCount: Int, version: Int) -> Int {
        let countBits = version < 10 ? 8 : 16
        return byteCount < (1 << countBits) ? 4 + countBits + byteCount * 8 : Int.max
    }

    /// Byte mode segment, terminator and padding, as codewords.
    private static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits = BitWriter()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: version < 10 ? 8 : 16)
        for byte in bytes { bits.append(Int(byte), count: 8) }
        let capacity = dataCapacity(version: version)
        bits.append(0, count: min(4, capacity - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count < capacity / 8 {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// Splits the data into blocks, adds each block's Reed-Solomon codewords and interleaves
    /// them: the first codeword of every block, then the second, …; error correction after data.
    private static func interleavedCodewords(data: [UInt8], version: Int) -> [UInt8] {
        let blocks = blockCount[version - 1]
        let ecc = eccPerBlock[version - 1]
        let shortLength = data.count / blocks
        let longBlocks = data.count % blocks
        let divisor = ReedSolomon.generator(degree: ecc)
        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var start = 0
        for index in 0..<blocks {
            let length = shortLength + (index >= blocks - longBlocks ? 1 : 0)
            let block = Array(data[start..<start + length])
            start += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(of: block, divisor: divisor))
        }
        var result: [UInt8] = []
        for position in 0...shortLength {
            for block in dataBlocks where position < block.count { result.append(block[position]) }
        }
        for position in 0..<ecc {
            for block in eccBlocks { result.append(block[position]) }
        }
        return result
    }

    // MARK: - Drawing

    private mutating func set(_ x: Int, _ y: Int, _ dark: Bool, reserved: inout [Bool]) {
        modules[y * size + x] = dark
        reserved[y * size + x] = true
    }

    private mutating func drawFunctionPatterns(reserved: inout [Bool]) {
        for index in 0..<size {
            set(6, index, index % 2 == 0, reserved: &reserved)
            set(index, 6, index % 2 == 0, reserved: &reserved)
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            // Finder pattern with its light separator: rings by Chebyshev distance.
            for dy in -4...4 {
                for dx in -4...4 where (0..<size).contains(x + dx) && (0..<size).contains(y + dy) {
                    let distance = max(abs(dx), abs(dy))
                    set(x + dx, y + dy, distance != 2 && distance != 4, reserved: &reserved)
                }
            }
        }
        let centres = alignmentCentres
        for cy in centres {
            for cx in centres {
                let onFinder = (cx == 6 && cy == 6) || (cx == 6 && cy == size - 7) || (cx == size - 7 && cy == 6)
                guard !onFinder else { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1, reserved: &reserved) }
                }
            }
        }
        // Format areas (written per mask later) and the dark module.
        for index in 0..<9 {
            reserved[8 * size + index] = true
            reserved[index * size + 8] = true
        }
        for index in 0..<8 {
            reserved[8 * size + size - 1 - index] = true
            reserved[(size - 1 - index) * size + 8] = true
        }
        set(8, size - 8, true, reserved: &reserved)
        if version >= 7 {
            let bits = Self.bch(version, bitCount: 6, generator: 0x1F25)
            for index in 0..<18 {
                let dark = (bits >> index) & 1 == 1
                let a = size - 11 + index % 3
                let b = index / 3
                set(a, b, dark, reserved: &reserved)
                set(b, a, dark, reserved: &reserved)
            }
        }
    }

    /// Centre rows (and columns) of alignment patterns.
    private var alignmentCentres: [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let step = version == 32 ? 26 : (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
        return [6] + (0..<count - 1).map { size - 7 - $0 * step }.reversed()
    }

    /// Fills the data area in the standard zigzag: column pairs from the right, alternately up
    /// and down, skipping the vertical timing column.
    private mutating func drawCodewords(_ codewords: [UInt8], reserved: [Bool]) {
        var bit = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for offset in 0..<2 {
                    let x = right - offset
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vertical : vertical
                    guard !reserved[y * size + x], bit < codewords.count * 8 else { continue }
                    modules[y * size + x] = (codewords[bit >> 3] >> (7 - UInt8(bit & 7))) & 1 == 1
                    bit += 1
                }
            }
            right -= 2
        }
    }

    private mutating func apply(mask: Int, reserved: [Bool]) {
        for y in 0..<size {
            for x in 0..<size where !reserved[y * size + x] {
                let flip: Bool
                switch mask {
                case 0: flip = (x + y) % 2 == 0
                case 1: flip = y % 2 == 0
                case 2: flip = x % 3 == 0
                case 3: flip = (x + y) % 3 == 0
                case 4: flip = (y / 2 + x / 3) % 2 == 0
                case 5: flip = x * y % 2 + x * y % 3 == 0
                case 6: flip = (x * y % 2 + x * y % 3) % 2 == 0
                default: flip = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if flip { modules[y * size + x].toggle() }
            }
        }
    }

    /// Level M (00) and the mask, BCH-protected and masked with 101010000010010, in both copies.
    private mutating func drawFormatBits(mask: Int) {
        let bits = Self.bch(mask, bitCount: 5, generator: 0x537) ^ 0x5412
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        func put(_ x: Int, _ y: Int, _ dark: Bool) { modules[y * size + x] = dark }
        for index in 0...5 { put(8, index, bit(index)) }
        put(8, 7, bit(6))
        put(8, 8, bit(7))
        put(7, 8, bit(8))
        for index in 9..<15 { put(14 - index, 8, bit(index)) }
        for index in 0..<8 { put(size - 1 - index, 8, bit(index)) }
        for index in 8..<15 { put(8, size - 15 + index, bit(index)) }
        put(8, size - 8, true)
    }

    /// `value` followed by its BCH remainder under `generator`.
    private static func bch(_ value: Int, bitCount: Int, generator: Int) -> Int {
        let degree = Int.bitWidth - generator.leadingZeroBitCount - 1
        var remainder = value << degree
        for shift in stride(from: bitCount - 1, through: 0, by: -1) where (remainder >> (shift + degree)) & 1 == 1 {
            remainder ^= generator << shift
        }
        return value << degree | remainder
    }

    // MARK: - Penalty (lower scans better)

    private var penalty: Int {
        var total = 0
        for line in 0..<size {
            total += Self.linePenalty((0..<size).map { isDark(x: $0, y: line) })
            total += Self.linePenalty((0..<size).map { isDark(x: line, y: $0) })
        }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let colour = isDark(x: x, y: y)
                if colour == isDark(x: x + 1, y: y), colour == isDark(x: x, y: y + 1), colour == isDark(x: x + 1, y: y + 1) {
                    total += 3
                }
            }
        }
        let dark = modules.lazy.filter { $0 }.count
        total += abs(dark * 20 - modules.count * 10) / modules.count * 10
        return total
    }

    /// Runs of five or more and finder-like 1:1:3:1:1 patterns in one row or column.
    private static func linePenalty(_ line: [Bool]) -> Int {
        var total = 0
        var run = 1
        for index in 1...line.count {
            if index < line.count, line[index] == line[index - 1] {
                run += 1
                continue
            }
            if run >= 5 { total += run - 2 }
            run = 1
        }
        let finder: [Bool] = [true, false, true, true, true, false, true]
        let light = [Bool](repeating: false, count: 4)
        for start in 0...(line.count - 11) {
            let window = Array(line[start..<start + 11])
            if window == finder + light || window == light + finder { total += 40 }
        }
        return total
    }

    private static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Most significant bit first.
private struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    mutating func append(_ value: Int, count bitCount: Int) {
        for shift in stride(from: bitCount - 1, through: 0, by: -1) {
            if count % 8 == 0 { bytes.append(0) }
            if (value >> shift) & 1 == 1 { bytes[bytes.count - 1] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}

/// Reed-Solomon over GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1.
private enum ReedSolomon {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product = 0
        for shift in stride(from: 7, through: 0, by: -1) {
            product = (product << 1) ^ ((product >> 7) * 0x11D)
            product ^= Int((b >> UInt8(shift)) & 1) * Int(a)
        }
        return UInt8(product)
    }

    /// Coefficients of ∏(x − αⁱ), i < degree, highest power first without the leading 1.
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return coefficients
    }

    static func remainder(of data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for index in 0..<divisor.count { result[index] ^= multiply(divisor[index], factor) }
        }
        return result
    }
}

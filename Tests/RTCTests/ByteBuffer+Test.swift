import NIOCore

extension ByteBuffer {
    /// A buffer of the bytes written in hex ("01 01 00 3c …", spaces ignored).
    init(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace })
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < digits.count {
            bytes.append(UInt8(String(digits[index...index + 1]), radix: 16) ?? 0)
            index += 2
        }
        self.init(bytes: bytes)
    }

    var bytes: [UInt8] { Array(readableBytesView) }
}

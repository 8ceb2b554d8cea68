/// CRC-32 of ISO 3309 / ITU-T V.42 (reflected polynomial 0xEDB88320, initial and final value
/// 0xFFFFFFFF), as STUN's FINGERPRINT uses it (RFC 8489 §14.7). Not MPEG-2's CRC
/// (`Media.CRC32MPEG2`), which is unreflected.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// Continues a running CRC (start with `0xFFFFFFFF`; finish by inverting) over `bytes`.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = crc
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc
    }

    /// The CRC of `bytes` in one go.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0xFFFF_FFFF, $0) } ^ 0xFFFF_FFFF
    }
}

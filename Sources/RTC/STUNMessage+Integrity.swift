import Crypto
import Foundation
import NIOCore

extension STUNMessage {
    /// XORed into the CRC-32 of FINGERPRINT (RFC 8489 §14.7).
    static let fingerprintXOR: UInt32 = 0x5354_554E

    /// Checks a raw message's MESSAGE-INTEGRITY (HMAC-SHA1 with `integrityKey`, RFC 8489 §14.5)
    /// and, when present, its FINGERPRINT (§14.7). MESSAGE-INTEGRITY is required; each is computed
    /// over the message up to the attribute with the header's length as if the message ended
    /// with that attribute. False for anything that does not parse.
    ///
    /// - Parameter integrityKey: for ICE's short-term credentials, the password's UTF-8 bytes.
    public static func verify(_ raw: ByteBuffer, integrityKey: [UInt8]) -> Bool {
        guard let offsets = attributeOffsets(raw) else { return false }
        guard let integrity = offsets.integrity else { return false }
        if let fingerprint = offsets.fingerprint {
            guard let stored = raw.getInteger(at: raw.readerIndex + fingerprint + 4, as: UInt32.self),
                  stored == Self.fingerprint(raw, upTo: fingerprint) else { return false }
        }
        guard let stored = raw.getBytes(at: raw.readerIndex + integrity + 4, length: 20) else { return false }
        return stored == messageIntegrity(raw, upTo: integrity, key: integrityKey)
    }

    /// Where MESSAGE-INTEGRITY and FINGERPRINT start (from the message's first byte), walking
    /// the attributes with every bound checked; nil when the message is malformed.
    private static func attributeOffsets(_ raw: ByteBuffer) -> (integrity: Int?, fingerprint: Int?)? {
        guard let length = raw.getInteger(at: raw.readerIndex + 2, as: UInt16.self),
              raw.getInteger(at: raw.readerIndex + 4, as: UInt32.self) == magicCookie,
              headerLength + Int(length) == raw.readableBytes else { return nil }
        var offset = headerLength
        var integrity: Int?
        var fingerprint: Int?
        while offset + 4 <= raw.readableBytes {
            guard let type = raw.getInteger(at: raw.readerIndex + offset, as: UInt16.self),
                  let size = raw.getInteger(at: raw.readerIndex + offset + 2, as: UInt16.self) else { return nil }
            if type == STUNAttribute.Kind.messageIntegrity, integrity == nil, fingerprint == nil {
                guard size == 20 else { return nil }
                integrity = offset
            } else if type == STUNAttribute.Kind.fingerprint {
                guard size == 4, offset + 8 == raw.readableBytes else { return nil }
                fingerprint = offset
            }
            offset += 4 + (Int(size) + 3) / 4 * 4
        }
        return offset == raw.readableBytes ? (integrity, fingerprint) : nil
    }

    /// The bytes before `end` with the header's length set to end the message at
    /// `end + attributeSize`, handed to `body` as the header (20 bytes) and the rest.
    private static func withAdjustedPrefix<R>(_ raw: ByteBuffer, upTo end: Int, attributeSize: Int,
                                              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        raw.withUnsafeReadableBytes { bytes in
            var header = [UInt8](bytes[0..<headerLength])
            let length = UInt16(truncatingIfNeeded: end + attributeSize - headerLength)
            header[2] = UInt8(length >> 8)
            header[3] = UInt8(length & 0xFF)
            return header.withUnsafeBytes { body($0, UnsafeRawBufferPointer(rebasing: bytes[headerLength..<end])) }
        }
    }

    /// HMAC-SHA1 of the message up to the MESSAGE-INTEGRITY attribute at `end` (RFC 8489 §14.5).
    static func messageIntegrity(_ raw: ByteBuffer, upTo end: Int, key: [UInt8]) -> [UInt8] {
        withAdjustedPrefix(raw, upTo: end, attributeSize: 24) { header, rest in
            var hmac = HMAC<Insecure.SHA1>(key: SymmetricKey(data: key))
            hmac.update(data: header)
            hmac.update(data: rest)
            return Array(hmac.finalize())
        }
    }

    /// CRC-32 XOR 0x5354554e of the message up to the FINGERPRINT attribute at `end` (§14.7).
    static func fingerprint(_ raw: ByteBuffer, upTo end: Int) -> UInt32 {
        withAdjustedPrefix(raw, upTo: end, attributeSize: 8) { header, rest in
            CRC32.update(CRC32.update(0xFFFF_FFFF, header), rest) ^ 0xFFFF_FFFF ^ fingerprintXOR
        }
    }
}

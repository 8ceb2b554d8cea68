import NIOCore

extension STUNMessage {
    /// A fresh random 96-bit transaction id for a request (RFC 8489 §5).
    public static func newTransactionID() -> [UInt8] {
        (0..<12).map { _ in UInt8.random(in: 0...255) }
    }

    /// A binding success response (RFC 8489 §7.3.1.1): XOR-MAPPED-ADDRESS of `mapped`,
    /// MESSAGE-INTEGRITY with `integrityKey`, FINGERPRINT.
    public static func bindingSuccess(transactionID: [UInt8], mapped: SocketAddress, integrityKey: [UInt8]) -> ByteBuffer {
        var attributes: [STUNAttribute] = []
        if let address = xorMappedAddressValue(mapped, transactionID: transactionID) {
            attributes.append(STUNAttribute(type: STUNAttribute.Kind.xorMappedAddress, value: address))
        }
        return STUNMessage(method: Method.binding.rawValue, messageClass: .successResponse,
                           transactionID: transactionID, attributes: attributes)
            .serialized(integrityKey: integrityKey, fingerprint: true)
    }

    /// A binding error response (RFC 8489 §7.3.1.1, §14.8): ERROR-CODE with `code` (300–699)
    /// and `reason`, MESSAGE-INTEGRITY when a key is given (not for 400/401 to an unknown user),
    /// FINGERPRINT.
    public static func bindingError(transactionID: [UInt8], code: Int, reason: String, integrityKey: [UInt8]?) -> ByteBuffer {
        let code = min(max(code, 300), 699)
        let value = [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8.prefix(508))
        let attributes = [STUNAttribute(type: STUNAttribute.Kind.errorCode, value: value)]
        return STUNMessage(method: Method.binding.rawValue, messageClass: .errorResponse,
                           transactionID: transactionID, attributes: attributes)
            .serialized(integrityKey: integrityKey, fingerprint: true)
    }

    /// An ICE connectivity check (RFC 8445 §7.2.2): USERNAME, PRIORITY, ICE-CONTROLLING with
    /// `tieBreaker` when given, USE-CANDIDATE when asked, MESSAGE-INTEGRITY, FINGERPRINT.
    /// `controlled` puts ICE-CONTROLLED instead (a lite agent's own check).
    public static func bindingRequest(transactionID: [UInt8], username: String, priority: UInt32, controlling tieBreaker: UInt64?,
                                      controlled: UInt64? = nil, useCandidate: Bool, integrityKey: [UInt8]) -> ByteBuffer {
        var attributes = [
            STUNAttribute(type: STUNAttribute.Kind.username, value: Array(username.utf8.prefix(509))),
            STUNAttribute(type: STUNAttribute.Kind.priority, value: bigEndianBytes(priority)),
        ]
        if let tieBreaker {
            attributes.append(STUNAttribute(type: STUNAttribute.Kind.iceControlling, value: bigEndianBytes(tieBreaker)))
        } else if let controlled {
            attributes.append(STUNAttribute(type: STUNAttribute.Kind.iceControlled, value: bigEndianBytes(controlled)))
        }
        if useCandidate {
            attributes.append(STUNAttribute(type: STUNAttribute.Kind.useCandidate, value: []))
        }
        return STUNMessage(method: Method.binding.rawValue, messageClass: .request,
                           transactionID: transactionID, attributes: attributes)
            .serialized(integrityKey: integrityKey, fingerprint: true)
    }

    /// The message on the wire: header, attributes padded to 4 bytes, then MESSAGE-INTEGRITY
    /// (HMAC-SHA1 with `integrityKey`) and FINGERPRINT when asked. Attributes whose value is
    /// over 65535 bytes are cut; a transaction ID not 12 bytes long is zero-filled.
    public func serialized(integrityKey: [UInt8]? = nil, fingerprint: Bool = false) -> ByteBuffer {
        let attributeBytes = attributes.reduce(0) { $0 + 4 + ($1.value.count + 3) / 4 * 4 }
        var buffer = ByteBufferAllocator().buffer(capacity: Self.headerLength + attributeBytes + 32)
        buffer.writeInteger(Self.encode(method: method, messageClass: messageClass))
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(Self.magicCookie)
        buffer.writeBytes(transactionID.count == 12 ? transactionID : [UInt8](repeating: 0, count: 12))
        for attribute in attributes {
            Self.write(attribute.type, Array(attribute.value.prefix(0xFFFF)), into: &buffer)
        }
        if let integrityKey {
            let offset = buffer.writerIndex - buffer.readerIndex
            Self.setLength(offset + 24, in: &buffer)
            Self.write(STUNAttribute.Kind.messageIntegrity, Self.messageIntegrity(buffer, upTo: offset, key: integrityKey), into: &buffer)
        }
        if fingerprint {
            let offset = buffer.writerIndex - buffer.readerIndex
            Self.setLength(offset + 8, in: &buffer)
            Self.write(STUNAttribute.Kind.fingerprint, Self.bigEndianBytes(Self.fingerprint(buffer, upTo: offset)), into: &buffer)
        }
        Self.setLength(buffer.readableBytes, in: &buffer)
        return buffer
    }

    private static func setLength(_ total: Int, in buffer: inout ByteBuffer) {
        buffer.setInteger(UInt16(truncatingIfNeeded: total - headerLength), at: buffer.readerIndex + 2)
    }

    private static func write(_ type: UInt16, _ value: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeInteger(UInt16(value.count))
        buffer.writeBytes(value)
        buffer.writeRepeatingByte(0, count: (4 - value.count % 4) % 4)
    }

    static func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<MemoryLayout<T>.size).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// The XOR-MAPPED-ADDRESS value of an IPv4 or IPv6 address (RFC 8489 §14.2); nil for others.
    static func xorMappedAddressValue(_ address: SocketAddress, transactionID: [UInt8]) -> [UInt8]? {
        let packed: [UInt8]
        let family: UInt8
        switch address {
        case .v4(let v4):
            packed = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
            family = 1
        case .v6(let v6):
            packed = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            family = 2
        default:
            return nil
        }
        let mask = STUNAddressMask(transactionID: transactionID)
        let port = UInt16(truncatingIfNeeded: address.port ?? 0) ^ UInt16(magicCookie >> 16)
        var value: [UInt8] = [0, family, UInt8(port >> 8), UInt8(port & 0xFF)]
        for (index, byte) in packed.enumerated() {
            value.append(byte ^ mask.bytes[index])
        }
        return value
    }
}

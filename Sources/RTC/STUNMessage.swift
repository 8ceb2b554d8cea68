import NIOCore

/// A STUN message (RFC 8489): what ICE-lite answers and a WebRTC client sends to check a path.
///
/// Parsing copies attribute values into small arrays (a binding request has five or six); the
/// per-media-packet paths (RTP, RTCP) do not go through here.
public struct STUNMessage: Sendable {
    /// STUN methods Sluice uses (RFC 8489 §18.2).
    public enum Method: UInt16, Sendable { case binding = 0x001 }

    /// The class bits of the message type (RFC 8489 §5).
    public enum Class: UInt8, Sendable { case request = 0, indication = 1, successResponse = 2, errorResponse = 3 }

    /// The magic cookie every RFC 5389+ message carries (RFC 8489 §5).
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The fixed header: type, length, cookie, transaction ID (RFC 8489 §5).
    public static let headerLength = 20
    /// Attributes read at most per message; more is refused as hostile.
    public static let maxAttributes = 64

    /// The 12-bit method (`Method.binding.rawValue` for binding).
    public var method: UInt16
    public var messageClass: Class
    /// 12 bytes.
    public var transactionID: [UInt8]
    public var attributes: [STUNAttribute]

    public init(method: UInt16, messageClass: Class, transactionID: [UInt8], attributes: [STUNAttribute]) {
        self.method = method
        self.messageClass = messageClass
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// Parses one whole message: the top two bits zero, the length a multiple of 4 that ends
    /// exactly at the end of `buffer`, the magic cookie, every attribute (and its padding) inside.
    public init(parsing buffer: ByteBuffer) throws(RTCError) {
        var input = buffer
        guard let type = input.readInteger(as: UInt16.self), let length = input.readInteger(as: UInt16.self),
              let cookie = input.readInteger(as: UInt32.self), let id = input.readBytes(length: 12) else {
            throw RTCError("STUN message shorter than its 20-byte header")
        }
        guard type & 0xC000 == 0 else { throw RTCError("STUN message type has its top bits set") }
        guard cookie == Self.magicCookie else { throw RTCError("STUN magic cookie missing") }
        guard length % 4 == 0, Int(length) == input.readableBytes else {
            throw RTCError("STUN length \(length) does not match the \(input.readableBytes) bytes after the header")
        }
        let (method, messageClass) = Self.decode(type: type)
        self.init(method: method, messageClass: messageClass, transactionID: id, attributes: try Self.readAttributes(&input))
    }

    private static func readAttributes(_ input: inout ByteBuffer) throws(RTCError) -> [STUNAttribute] {
        var attributes: [STUNAttribute] = []
        while input.readableBytes > 0 {
            guard attributes.count < maxAttributes else { throw RTCError("STUN message has over \(maxAttributes) attributes") }
            guard let type = input.readInteger(as: UInt16.self), let length = input.readInteger(as: UInt16.self),
                  let value = input.readBytes(length: Int(length)) else {
                throw RTCError("STUN attribute runs past the message")
            }
            let padding = (4 - Int(length) % 4) % 4
            guard input.readableBytes >= padding else { throw RTCError("STUN attribute padding runs past the message") }
            input.moveReaderIndex(forwardBy: padding)
            attributes.append(STUNAttribute(type: type, value: value))
        }
        return attributes
    }

    /// Splits a message type into its method and class bits (RFC 8489 §5, figure 3).
    static func decode(type: UInt16) -> (method: UInt16, messageClass: Class) {
        let method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)
        let classBits = UInt8(((type >> 4) & 0x1) | ((type >> 7) & 0x2))
        return (method, Class(rawValue: classBits) ?? .request)
    }

    /// Joins a method and class into a message type (RFC 8489 §5).
    static func encode(method: UInt16, messageClass: Class) -> UInt16 {
        let classBits = UInt16(messageClass.rawValue)
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((classBits & 0x1) << 4) | ((classBits & 0x2) << 7)
    }

    /// The first attribute of `type`.
    public func attribute(_ type: UInt16) -> [UInt8]? {
        attributes.first { $0.type == type }?.value
    }

    /// USERNAME (RFC 8489 §14.3): for ICE, "receiverUfrag:senderUfrag" (RFC 8445 §7.2.2).
    public var username: String? {
        attribute(STUNAttribute.Kind.username).map { String(decoding: $0, as: UTF8.self) }
    }

    /// PRIORITY (RFC 8445 §7.1.1).
    public var priority: UInt32? { attribute(STUNAttribute.Kind.priority)?.bigEndianInteger() }

    /// USE-CANDIDATE present (RFC 8445 §7.1.2).
    public var useCandidate: Bool { attribute(STUNAttribute.Kind.useCandidate) != nil }

    /// ICE-CONTROLLING's tie-breaker (RFC 8445 §7.1.3).
    public var iceControlling: UInt64? { attribute(STUNAttribute.Kind.iceControlling)?.bigEndianInteger() }

    /// ICE-CONTROLLED's tie-breaker (RFC 8445 §7.1.3).
    public var iceControlled: UInt64? { attribute(STUNAttribute.Kind.iceControlled)?.bigEndianInteger() }

    /// ERROR-CODE (RFC 8489 §14.8): the code (300–699) and its reason phrase.
    public var errorCode: (code: Int, reason: String)? {
        guard let value = attribute(STUNAttribute.Kind.errorCode), value.count >= 4 else { return nil }
        let code = Int(value[2] & 0x07) * 100 + Int(value[3])
        return (code, String(decoding: value[4...], as: UTF8.self))
    }

    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2), IPv4 or IPv6; nil when absent or malformed.
    public var xorMappedAddress: SocketAddress? {
        guard let value = attribute(STUNAttribute.Kind.xorMappedAddress), value.count >= 8 else { return nil }
        let mask = STUNAddressMask(transactionID: transactionID)
        let port = Int((UInt16(value[2]) << 8 | UInt16(value[3])) ^ UInt16(Self.magicCookie >> 16))
        let family = value[1]
        let length = family == 1 ? 4 : family == 2 ? 16 : 0
        guard length > 0, value.count == 4 + length else { return nil }
        var packed = ByteBuffer()
        for index in 0..<length {
            packed.writeInteger(value[4 + index] ^ mask.bytes[index])
        }
        return try? SocketAddress(packedIPAddress: packed, port: port)
    }
}

/// The XOR mask of an address: the magic cookie, then (IPv6) the transaction ID (RFC 8489 §14.2).
struct STUNAddressMask {
    var bytes: [UInt8]

    init(transactionID: [UInt8]) {
        let cookie = STUNMessage.magicCookie
        bytes = [UInt8(cookie >> 24), UInt8(cookie >> 16 & 0xFF), UInt8(cookie >> 8 & 0xFF), UInt8(cookie & 0xFF)]
        bytes += transactionID.count == 12 ? transactionID : [UInt8](repeating: 0, count: 12)
    }
}

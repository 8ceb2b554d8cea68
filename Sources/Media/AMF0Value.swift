/// A value in Action Message Format 0, the encoding of RTMP commands and FLV script data
/// (AMF0 specification, Adobe 2007, §2).
///
/// Objects keep their properties in wire order, because some peers (Flash-era encoders)
/// read `onMetaData` positionally and because round trips must be byte-exact.
public enum AMF0Value: Sendable, Hashable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object([AMF0Property])
    case null
    case undefined
    /// An associative array; `count` on the wire is a hint only (AMF0 §2.10).
    case ecmaArray([AMF0Property])
    case strictArray([AMF0Value])
    /// Milliseconds since the Unix epoch; the time-zone field is reserved and written as 0.
    case date(Double)
    case xmlDocument(String)

    /// The property named `key` of an object or ECMA array, if there is one.
    public subscript(key: String) -> AMF0Value? {
        switch self {
        case .object(let properties), .ecmaArray(let properties):
            return properties.first { $0.key == key }?.value
        default:
            return nil
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}

/// One key/value pair of an AMF0 object or ECMA array.
public struct AMF0Property: Sendable, Hashable {
    public var key: String
    public var value: AMF0Value

    public init(_ key: String, _ value: AMF0Value) {
        self.key = key
        self.value = value
    }
}

/// AMF0 type markers (AMF0 §2.1).
enum AMF0Marker: UInt8 {
    case number = 0x00
    case boolean = 0x01
    case string = 0x02
    case object = 0x03
    case movieClip = 0x04
    case null = 0x05
    case undefined = 0x06
    case reference = 0x07
    case ecmaArray = 0x08
    case objectEnd = 0x09
    case strictArray = 0x0A
    case date = 0x0B
    case longString = 0x0C
    case unsupported = 0x0D
    case recordSet = 0x0E
    case xmlDocument = 0x0F
    case typedObject = 0x10
    /// Switches to AMF3 for the next value (AMF0 §3.1).
    case avmPlusObject = 0x11
}

import NIOCore

/// Reads AMF0 values from a buffer (AMF0 specification §2), with explicit limits so a hostile
/// peer cannot make the decoder recurse or allocate without bound.
///
/// On error the buffer's reader index is unspecified; callers discard the message.
public struct AMF0Decoder: Sendable {
    /// Deepest nesting of objects and arrays accepted. Default 16; real metadata uses 2.
    public var maxDepth: Int
    /// Most elements accepted in one object, ECMA array or strict array. Default 4096.
    public var maxElements: Int
    /// Most values accepted in one call, counting every nested value. Default 65,536. A value
    /// can be one byte on the wire but takes tens in memory, so without this an 8 MiB message
    /// of nested arrays of nulls would decode into hundreds of megabytes.
    public var maxValues: Int

    public init(maxDepth: Int = 16, maxElements: Int = 4096, maxValues: Int = 65_536) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxValues = maxValues
    }

    /// Decodes every value until the buffer is empty.
    public func decodeAll(_ buffer: inout ByteBuffer) throws -> [AMF0Value] {
        var values: [AMF0Value] = []
        var budget = maxValues
        while buffer.readableBytes > 0 {
            values.append(try decode(&buffer, depth: 0, budget: &budget))
        }
        return values
    }

    /// Decodes one value.
    public func decode(_ buffer: inout ByteBuffer) throws -> AMF0Value {
        var budget = maxValues
        return try decode(&buffer, depth: 0, budget: &budget)
    }

    private func decode(_ buffer: inout ByteBuffer, depth: Int, budget: inout Int) throws -> AMF0Value {
        guard depth <= maxDepth else { throw MediaFormatError(.tooDeep, "AMF0 nesting over \(maxDepth)") }
        guard budget > 0 else { throw MediaFormatError(.tooLarge, "AMF0 message over \(maxValues) values") }
        budget -= 1
        guard let byte = buffer.readInteger(as: UInt8.self) else {
            throw MediaFormatError(.truncated, "AMF0 type marker")
        }
        guard let marker = AMF0Marker(rawValue: byte) else {
            throw MediaFormatError(.unknownMarker, "AMF0 marker 0x\(String(byte, radix: 16))")
        }
        switch marker {
        case .number: return .number(try readDouble(&buffer))
        case .boolean: return .boolean(try readByte(&buffer) != 0)
        case .string: return .string(try readString(&buffer, lengthBytes: 2))
        case .longString: return .string(try readString(&buffer, lengthBytes: 4))
        case .xmlDocument: return .xmlDocument(try readString(&buffer, lengthBytes: 4))
        case .null: return .null
        case .undefined, .unsupported: return .undefined
        case .object: return .object(try readProperties(&buffer, depth: depth, budget: &budget))
        case .typedObject:
            _ = try readString(&buffer, lengthBytes: 2)  // class name; Sluice keeps plain properties
            return .object(try readProperties(&buffer, depth: depth, budget: &budget))
        case .ecmaArray:
            _ = try readUInt32(&buffer)  // count hint, not trusted
            return .ecmaArray(try readProperties(&buffer, depth: depth, budget: &budget))
        case .strictArray: return .strictArray(try readStrictArray(&buffer, depth: depth, budget: &budget))
        case .date:
            let milliseconds = try readDouble(&buffer)
            _ = try readUInt16(&buffer)  // reserved time zone
            return .date(milliseconds)
        case .avmPlusObject: return try AMF3Reader.readValue(&buffer)
        case .movieClip, .reference, .recordSet, .objectEnd:
            throw MediaFormatError(.unsupported, "AMF0 marker \(marker)")
        }
    }

    private func readProperties(_ buffer: inout ByteBuffer, depth: Int, budget: inout Int) throws -> [AMF0Property] {
        var properties: [AMF0Property] = []
        while true {
            let key = try readString(&buffer, lengthBytes: 2)
            if key.isEmpty, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == AMF0Marker.objectEnd.rawValue {
                buffer.moveReaderIndex(forwardBy: 1)
                return properties
            }
            guard properties.count < maxElements else {
                throw MediaFormatError(.tooLarge, "AMF0 object over \(maxElements) properties")
            }
            properties.append(AMF0Property(key, try decode(&buffer, depth: depth + 1, budget: &budget)))
        }
    }

    private func readStrictArray(_ buffer: inout ByteBuffer, depth: Int, budget: inout Int) throws -> [AMF0Value] {
        let count = Int(try readUInt32(&buffer))
        guard count <= maxElements else { throw MediaFormatError(.tooLarge, "AMF0 array of \(count)") }
        var values: [AMF0Value] = []
        // The count is the peer's claim; each element takes at least one byte, so reserve no
        // more than the bytes that are actually there.
        values.reserveCapacity(min(count, buffer.readableBytes))
        for _ in 0..<count {
            values.append(try decode(&buffer, depth: depth + 1, budget: &budget))
        }
        return values
    }

    private func readString(_ buffer: inout ByteBuffer, lengthBytes: Int) throws -> String {
        let length = lengthBytes == 2 ? Int(try readUInt16(&buffer)) : Int(try readUInt32(&buffer))
        guard let bytes = buffer.readSlice(length: length) else {
            throw MediaFormatError(.truncated, "AMF0 string of \(length) bytes")
        }
        guard let string = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw MediaFormatError(.invalidUTF8, "AMF0 string")
        }
        return string
    }

    private func readDouble(_ buffer: inout ByteBuffer) throws -> Double {
        guard let bits = buffer.readInteger(as: UInt64.self) else { throw MediaFormatError(.truncated, "AMF0 number") }
        return Double(bitPattern: bits)
    }

    private func readByte(_ buffer: inout ByteBuffer) throws -> UInt8 {
        guard let byte = buffer.readInteger(as: UInt8.self) else { throw MediaFormatError(.truncated, "AMF0 boolean") }
        return byte
    }

    private func readUInt16(_ buffer: inout ByteBuffer) throws -> UInt16 {
        guard let value = buffer.readInteger(as: UInt16.self) else { throw MediaFormatError(.truncated, "AMF0 length") }
        return value
    }

    private func readUInt32(_ buffer: inout ByteBuffer) throws -> UInt32 {
        guard let value = buffer.readInteger(as: UInt32.self) else { throw MediaFormatError(.truncated, "AMF0 length") }
        return value
    }
}

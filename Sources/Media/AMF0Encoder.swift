import NIOCore

extension ByteBuffer {
    /// Appends `value` in AMF0 (AMF0 specification §2). Strings longer than 65,535 UTF-8 bytes
    /// are written as long strings.
    @discardableResult
    public mutating func writeAMF0(_ value: AMF0Value) -> Int {
        let start = writerIndex
        switch value {
        case .number(let number):
            writeMarker(.number)
            writeInteger(number.bitPattern)
        case .boolean(let flag):
            writeMarker(.boolean)
            writeInteger(UInt8(flag ? 1 : 0))
        case .string(let string):
            let utf8 = string.utf8
            if utf8.count > Int(UInt16.max) {
                writeMarker(.longString)
                writeInteger(UInt32(utf8.count))
            } else {
                writeMarker(.string)
                writeInteger(UInt16(utf8.count))
            }
            writeString(string)
        case .object(let properties):
            writeMarker(.object)
            writeAMF0Properties(properties)
        case .null:
            writeMarker(.null)
        case .undefined:
            writeMarker(.undefined)
        case .ecmaArray(let properties):
            writeMarker(.ecmaArray)
            writeInteger(UInt32(properties.count))
            writeAMF0Properties(properties)
        case .strictArray(let values):
            writeMarker(.strictArray)
            writeInteger(UInt32(values.count))
            for element in values { writeAMF0(element) }
        case .date(let milliseconds):
            writeMarker(.date)
            writeInteger(milliseconds.bitPattern)
            writeInteger(UInt16(0))
        case .xmlDocument(let xml):
            writeMarker(.xmlDocument)
            writeInteger(UInt32(xml.utf8.count))
            writeString(xml)
        }
        return writerIndex - start
    }

    private mutating func writeAMF0Properties(_ properties: [AMF0Property]) {
        for property in properties {
            writeAMF0Key(property.key)
            writeAMF0(property.value)
        }
        writeAMF0Key("")
        writeMarker(.objectEnd)
    }

    private mutating func writeAMF0Key(_ key: String) {
        // Keys are UTF-8-8 (16-bit length); longer keys are cut rather than corrupting the stream.
        let bytes = Array(key.utf8.prefix(Int(UInt16.max)))
        writeInteger(UInt16(bytes.count))
        writeBytes(bytes)
    }

    private mutating func writeMarker(_ marker: AMF0Marker) {
        writeInteger(marker.rawValue)
    }
}

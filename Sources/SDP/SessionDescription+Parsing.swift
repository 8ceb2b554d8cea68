extension SessionDescription {
    /// Reads a session description (RFC 8866 §5). Throws `SDPError` naming the line for text
    /// longer than `maxBytes`, more than `maxLines` lines or `maxMediaSections` sections, a line
    /// that is not `<letter>=<value>`, a type letter not allowed where it stands, a NUL or a
    /// stray CR, a first line other than `v=0`, a missing `o=` or `s=`, or an `m=` line that does
    /// not parse.
    public init(parsing text: String) throws(SDPError) {
        guard text.utf8.count <= Self.maxBytes else {
            throw SDPError("the session description is longer than \(Self.maxBytes) bytes")
        }
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let lineCount = lines.last?.isEmpty == true ? lines.count - 1 : lines.count
        guard lineCount <= Self.maxLines else {
            throw SDPError("the session description has more than \(Self.maxLines) lines")
        }
        var reader = Reader()
        for (index, raw) in lines.enumerated() {
            try reader.read(Substring(raw), number: index + 1)
        }
        self = try reader.finish()
    }

    /// The line-by-line state of one parse.
    private struct Reader {
        var fields: [SDPField] = []
        var attributes: [SDPAttribute] = []
        var media: [MediaDescription] = []
        var sawVersion = false

        mutating func read(_ raw: Substring, number: Int) throws(SDPError) {
            var line = raw
            if line.utf8.last == UInt8(ascii: "\r") { line = Substring(line.unicodeScalars.dropLast()) }
            if line.isEmpty { return }
            guard !line.utf8.contains(0), !line.utf8.contains(UInt8(ascii: "\r")) else {
                throw SDPError("SDP line \(number): a NUL or CR inside the line")
            }
            let bytes = line.utf8
            guard bytes.count >= 2, let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
                  bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "=") else {
                throw SDPError("SDP line \(number): \(String(line).sdpQuoted()) is not <type>=<value>")
            }
            // By scalars, not characters: "=" followed by a combining mark is one character.
            let value = Substring(line.unicodeScalars.dropFirst(2))
            do {
                try place(type: Character(Unicode.Scalar(first)), value: value)
            } catch {
                throw SDPError("SDP line \(number): \(error.message)")
            }
        }

        private mutating func place(type: Character, value: Substring) throws(SDPError) {
            if !sawVersion {
                guard type == "v", value == "0" else { throw SDPError("the first line must be v=0") }
                sawVersion = true
                fields.append(SDPField(type: "v", value: "0"))
                return
            }
            switch type {
            case "m":
                guard media.count < SessionDescription.maxMediaSections else {
                    throw SDPError("more than \(SessionDescription.maxMediaSections) media sections")
                }
                media.append(try MediaDescription(parsingMediaLine: value))
            case "a":
                let attribute = try SDPAttribute(parsing: value)
                if media.isEmpty { attributes.append(attribute) } else { media[media.count - 1].attributes.append(attribute) }
            case "v":
                throw SDPError("a second v= line")
            default:
                try placeField(SDPField(type: type, value: String(value)))
            }
        }

        private mutating func placeField(_ field: SDPField) throws(SDPError) {
            if media.isEmpty {
                guard SDPField.sessionTypes.contains(field.type) else {
                    throw SDPError("\(field.type)= is not a session-level line")
                }
                fields.append(field)
            } else {
                guard SDPField.mediaTypes.contains(field.type) else {
                    throw SDPError("\(field.type)= is not allowed in a media section")
                }
                media[media.count - 1].fields.append(field)
            }
        }

        func finish() throws(SDPError) -> SessionDescription {
            guard sawVersion else { throw SDPError("the session description is empty (no v=0)") }
            guard fields.contains(where: { $0.type == "o" }) else { throw SDPError("the session description has no o= line") }
            guard fields.contains(where: { $0.type == "s" }) else { throw SDPError("the session description has no s= line") }
            return SessionDescription(fields: fields, sessionAttributes: attributes, media: media)
        }
    }
}

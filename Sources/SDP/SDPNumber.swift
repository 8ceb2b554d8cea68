/// Bounded decimal numbers as SDP writes them: ASCII digits only (no sign, no spaces, no
/// exponent), at most 20 of them, inside a stated range. Every number read from an offer goes
/// through here, so nothing after it does arithmetic on an unchecked value.
enum SDPNumber {
    /// The value of `text` if it is 1–20 decimal digits and inside `range`, else nil.
    static func parse(_ text: Substring, in range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 20,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(text), range.contains(value) else { return nil }
        return value
    }

    /// An RTP payload type (RFC 3550 §5.1: 7 bits).
    static func payloadType(_ text: Substring) -> UInt8? {
        parse(text, in: 0...127).flatMap { UInt8(exactly: $0) }
    }

    /// A UDP or TCP port, 0…65535.
    static func port(_ text: Substring) -> Int? {
        parse(text, in: 0...65_535)
    }

    /// A 32-bit unsigned value (an SSRC, an ICE priority).
    static func uint32(_ text: Substring) -> UInt32? {
        parse(text, in: 0...Int(UInt32.max)).flatMap { UInt32(exactly: $0) }
    }
}

extension Substring {
    /// Space-separated tokens (one or more spaces or tabs between them), empty tokens dropped.
    var sdpTokens: [Substring] {
        // By scalars: splitting by characters would run grapheme breaking over every byte.
        unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(Substring.init)
    }

    /// The text before and after the first `separator` (an ASCII byte), or nil when absent.
    func sdpSplit(at separator: UInt8) -> (head: Substring, tail: Substring)? {
        guard let index = utf8.firstIndex(of: separator) else { return nil }
        return (Substring(unicodeScalars[..<index]), Substring(unicodeScalars[unicodeScalars.index(after: index)...]))
    }
}

extension String {
    /// The text cut to `limit` characters for an error message, so hostile input does not
    /// echo back at length.
    func sdpQuoted(limit: Int = 40) -> String {
        count <= limit ? "\"\(self)\"" : "\"\(prefix(limit))…\""
    }
}

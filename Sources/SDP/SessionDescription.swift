/// A session description (RFC 8866): the session-level lines, the session attributes and the
/// media sections, read from text and written back.
///
/// Reading is strict where a mistake would matter and bounded everywhere: at most
/// `maxBytes` of text, `maxLines` lines and `maxMediaSections` media sections; the first line
/// is `v=0`, `o=` and `s=` are present, each line is `<letter>=<value>` with a letter RFC 8866
/// defines at that level (§5: a description with a type letter the parser does not understand
/// is rejected). Lines may end in CRLF or LF; blank lines are skipped. Attribute values are kept
/// as text and interpreted on demand (`MediaDescription`'s accessors, `WebRTCOffer`).
public struct SessionDescription: Sendable, Equatable {
    /// The most bytes of text read (64 KiB).
    public static let maxBytes = 65_536
    /// The most lines read.
    public static let maxLines = 4096
    /// The most media sections read.
    public static let maxMediaSections = 32

    /// The session-level lines other than attributes (`v=`, `o=`, `s=`, `c=`, `t=`…), in order.
    public var fields: [SDPField]
    /// The session-level `a=` lines, in order.
    public var sessionAttributes: [SDPAttribute]
    /// The media sections, in order (`m=` lines and what follows each).
    public var media: [MediaDescription]

    public init(fields: [SDPField], sessionAttributes: [SDPAttribute], media: [MediaDescription]) {
        self.fields = fields
        self.sessionAttributes = sessionAttributes
        self.media = media
    }

    /// The description as text: session fields, session attributes, then each media section;
    /// every line ends in CRLF (RFC 8866 §5).
    public var text: String {
        var text = ""
        text.reserveCapacity(4096)
        func line(_ type: Character, _ value: String) {
            text.append(type)
            text.append("=")
            text.append(value)
            text.append("\r\n")
        }
        func attribute(_ attribute: SDPAttribute) {
            text.append("a=")
            text.append(attribute.name)
            if let value = attribute.value {
                text.append(":")
                text.append(value)
            }
            text.append("\r\n")
        }
        fields.forEach { line($0.type, $0.value) }
        sessionAttributes.forEach(attribute)
        for section in media {
            line("m", section.mediaLine)
            section.fields.forEach { line($0.type, $0.value) }
            section.attributes.forEach(attribute)
        }
        return text
    }

    /// The value of the first session-level field of `type`, or nil.
    public func field(_ type: Character) -> String? {
        fields.first { $0.type == type }?.value
    }
}

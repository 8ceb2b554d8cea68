/// One RTP format a media section offers: its `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` read together.
public struct OfferedCodec: Sendable, Equatable {
    /// 0…127.
    public var payloadType: UInt8
    /// The encoding name as written (`"H264"`, `"opus"`); compare case-insensitively.
    public var name: String
    /// Hertz.
    public var clockRate: Int
    /// Audio channels (1 when the rtpmap writes none).
    public var channels: Int
    /// The `a=fmtp` parameters, keys lowercased (`"packetization-mode"`, `"profile-level-id"`),
    /// values as written; a parameter without `=` (RED's `111/111`) is a key with an empty value.
    public var parameters: [String: String]
    /// The `a=rtcp-fb` values for this format and for `*`, in order (`"nack"`, `"nack pli"`,
    /// `"transport-cc"`).
    public var feedback: [String]
    /// The `a=fmtp` parameter text exactly as offered, for an answer that copies it.
    public var formatParameters: String?

    /// The most fmtp parameters read.
    static let maxParameters = 64

    public init(payloadType: UInt8, name: String, clockRate: Int, channels: Int = 1,
                parameters: [String: String] = [:], feedback: [String] = [], formatParameters: String? = nil) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.feedback = feedback
        self.formatParameters = formatParameters
    }

    /// Whether the encoding name is `name`, ignoring case.
    public func isNamed(_ name: String) -> Bool {
        self.name.lowercased() == name.lowercased()
    }

    /// `profile-level-id` lowercased, for H.264 (RFC 6184 §8.1); nil when absent.
    public var profileLevelID: String? { parameters["profile-level-id"]?.lowercased() }

    /// Whether the offer asks for generic NACK (RFC 4585 §4.2).
    public var hasNACK: Bool { feedback.contains("nack") }
    /// Whether the offer asks for picture loss indication (`nack pli`, RFC 4585 §4.2).
    public var hasPLI: Bool { feedback.contains("nack pli") }

    /// `a=fmtp` parameters `key=value;key=value` (RFC 8866 §6.15), keys lowercased, first of a
    /// key wins, at most `maxParameters`.
    static func parameters(_ text: String) -> [String: String] {
        var parameters: [String: String] = [:]
        for item in text.unicodeScalars.split(separator: ";").prefix(maxParameters) {
            let pair = Substring(item).sdpSplit(at: UInt8(ascii: "="))
            let key = String(pair?.head ?? Substring(item)).trimmingSDPSpaces.lowercased()
            guard !key.isEmpty, parameters[key] == nil else { continue }
            parameters[key] = pair.map { String($0.tail).trimmingSDPSpaces } ?? ""
        }
        return parameters
    }
}

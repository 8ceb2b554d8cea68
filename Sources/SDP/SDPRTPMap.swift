/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
public struct SDPRTPMap: Sendable, Equatable {
    /// 0…127.
    public var payloadType: UInt8
    /// As written (`"H264"`, `"opus"`); compare case-insensitively (RFC 8866 §6.6).
    public var encodingName: String
    /// Hertz, 1…4294967295 (an RTP timestamp is 32 bits).
    public var clockRate: Int
    /// Audio channels when written, 1…255.
    public var channels: Int?

    public init(payloadType: UInt8, encodingName: String, clockRate: Int, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    /// Reads the attribute's value; throws for a payload type, clock rate or channel count out
    /// of range or a missing part.
    public init(attributeValue: String) throws(SDPError) {
        let tokens = Substring(attributeValue).sdpTokens
        guard tokens.count == 2, let payloadType = SDPNumber.payloadType(tokens[0]) else {
            throw SDPError("a=rtpmap:\(attributeValue.sdpQuoted()) is not <payload type 0…127> <encoding>")
        }
        let parts = tokens[1].split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), !parts[0].isEmpty,
              let clockRate = SDPNumber.parse(parts[1], in: 1...Int(UInt32.max)) else {
            throw SDPError("a=rtpmap:\(attributeValue.sdpQuoted()) has no <name>/<clock rate 1…2^32-1>")
        }
        var channels: Int?
        if parts.count == 3 {
            guard let parsed = SDPNumber.parse(parts[2], in: 1...255) else {
                throw SDPError("a=rtpmap:\(attributeValue.sdpQuoted()) channels are not 1…255")
            }
            channels = parsed
        }
        self.init(payloadType: payloadType, encodingName: String(parts[0]), clockRate: clockRate, channels: channels)
    }

    /// `102 H264/90000`, `111 opus/48000/2`.
    public var attributeValue: String {
        "\(payloadType) \(encodingName)/\(clockRate)" + (channels.map { "/\($0)" } ?? "")
    }

    /// Static payload types RFC 3551 §6 defines without an rtpmap that a WebRTC peer may offer.
    static let staticTypes: [UInt8: SDPRTPMap] = [
        0: SDPRTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000, channels: 1),
        8: SDPRTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000, channels: 1),
        9: SDPRTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000, channels: 1),
    ]
}

/// What WebRTC reads from a media section's attributes. Each accessor skips lines it cannot
/// read (a malformed `a=rtpmap` leaves its format without a codec); nothing here traps on
/// hostile values.
extension MediaDescription {
    /// `a=mid` (RFC 8843 §9.1), the section's identification tag.
    public var mid: String? { attributes.value(named: "mid") }

    /// The section's own direction attribute, or nil when it writes none (RFC 8866 §6.7: then
    /// the session level's, else `sendrecv`).
    public var direction: SDPDirection? {
        attributes.last { $0.value == nil && SDPDirection(rawValue: $0.name) != nil }.flatMap { SDPDirection(rawValue: $0.name) }
    }

    public var iceUfrag: String? { attributes.value(named: "ice-ufrag") }
    public var icePwd: String? { attributes.value(named: "ice-pwd") }

    /// Every `a=fingerprint` that reads (RFC 8122 allows several hash functions).
    public var fingerprints: [SDPFingerprint] {
        attributes.values(named: "fingerprint").compactMap { SDPFingerprint(attributeValue: $0) }
    }

    /// The first `a=fingerprint` that reads.
    public var fingerprint: SDPFingerprint? { fingerprints.first }

    /// `a=setup`, or nil when absent or unknown.
    public var setup: SDPSetup? { attributes.value(named: "setup").flatMap { SDPSetup(rawValue: $0) } }

    /// `a=rtcp-mux` (RFC 5761 §5.1.3): RTP and RTCP share the port.
    public var rtcpMux: Bool { attributes.contains(named: "rtcp-mux") }

    /// `a=rtcp-rsize` (RFC 5506 §5): reduced-size RTCP allowed.
    public var rtcpReducedSize: Bool { attributes.contains(named: "rtcp-rsize") }

    /// `a=bundle-only` (RFC 8843 §6): port 0 in an offer does not reject this section.
    public var isBundleOnly: Bool { attributes.contains(named: "bundle-only") }

    /// The `a=rtpmap` lines that read, first per payload type.
    public var rtpMaps: [UInt8: SDPRTPMap] {
        var maps: [UInt8: SDPRTPMap] = [:]
        for value in attributes.values(named: "rtpmap") {
            guard let map = try? SDPRTPMap(attributeValue: value), maps[map.payloadType] == nil else { continue }
            maps[map.payloadType] = map
        }
        return maps
    }

    /// `a=fmtp:<format> <parameters>`: the parameter text by format, first per format.
    public var fmtp: [String: String] {
        var parameters: [String: String] = [:]
        for value in attributes.values(named: "fmtp") {
            guard let (head, tail) = Substring(value).sdpSplit(at: UInt8(ascii: " ")) else { continue }
            let format = String(head)
            guard parameters[format] == nil else { continue }
            parameters[format] = String(tail).trimmingSDPSpaces
        }
        return parameters
    }

    /// `a=rtcp-fb:<format> <feedback>` (RFC 4585 §4.2): the feedback values by format, in order;
    /// the key `"*"` holds what applies to every format.
    public var rtcpFeedback: [String: [String]] {
        var feedback: [String: [String]] = [:]
        for value in attributes.values(named: "rtcp-fb") {
            guard let (format, tail) = Substring(value).sdpSplit(at: UInt8(ascii: " ")) else { continue }
            let kind = String(tail).trimmingSDPSpaces
            guard !kind.isEmpty else { continue }
            feedback[String(format), default: []].append(kind)
        }
        return feedback
    }

    /// The `a=ssrc` lines that read, in order.
    public var ssrcs: [SDPSSRCAttribute] {
        attributes.values(named: "ssrc").compactMap { SDPSSRCAttribute(attributeValue: $0) }
    }

    /// The `a=ssrc-group` lines that read, in order.
    public var ssrcGroups: [SDPSSRCGroup] {
        attributes.values(named: "ssrc-group").compactMap { SDPSSRCGroup(attributeValue: $0) }
    }

    /// The `a=candidate` lines that read, in order.
    public var candidates: [ICECandidateLine] {
        attributes.values(named: "candidate").compactMap { try? ICECandidateLine(parsing: $0) }
    }

    /// `a=extmap:<id>[/<direction>] <uri>` (RFC 8285 §8): the header extension URIs by id
    /// (1…255), first per id.
    public var extensions: [Int: String] {
        var map: [Int: String] = [:]
        for value in attributes.values(named: "extmap") {
            let tokens = Substring(value).sdpTokens
            guard tokens.count >= 2 else { continue }
            let idText = tokens[0].split(separator: "/", maxSplits: 1).first ?? tokens[0]
            guard let id = SDPNumber.parse(idText, in: 1...255), map[id] == nil else { continue }
            map[id] = String(tokens[1])
        }
        return map
    }

    /// `a=msid:<stream> [<track>]` (RFC 8830 §2).
    public var msid: String? { attributes.value(named: "msid") }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSDPSpaces: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        if first == scalars.startIndex, last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}

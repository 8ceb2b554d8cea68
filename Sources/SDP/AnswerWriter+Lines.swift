/// The lines of an answer.
extension AnswerWriter {
    var sessionFields: [SDPField] { SDPField.sessionHeader(seed: options.iceUfrag) }

    func sessionAttributes(bundle: [String]) -> [SDPAttribute] {
        var attributes = [SDPAttribute(name: "ice-lite")]
        if !offer.bundleGroups.isEmpty, !bundle.isEmpty {
            attributes.append(SDPAttribute(name: "group", value: (["BUNDLE"] + bundle).joined(separator: " ")))
        }
        if options.direction.sends {
            attributes.append(SDPAttribute(name: "msid-semantic", value: " WMS \(options.streamLabel)"))
        }
        return attributes
    }

    /// An accepted section.
    func write(_ section: OfferedSection, _ media: NegotiatedMedia) -> MediaDescription {
        let (port, connection) = defaultCandidate
        var attributes: [SDPAttribute] = []
        func add(_ name: String, _ value: String? = nil) { attributes.append(SDPAttribute(name: name, value: value)) }
        if !section.mid.isEmpty { add("mid", section.mid) }
        let direction = answerDirection(to: section.direction)
        let sends = direction.sends
        add(direction.rawValue)
        add("ice-ufrag", options.iceUfrag)
        add("ice-pwd", options.icePwd)
        add("fingerprint", options.fingerprint.attributeValue)
        add("setup", SDPSetup.passive.rawValue)
        add("rtcp-mux")
        if section.rtcpReducedSize { add("rtcp-rsize") }
        let codec = media.codec
        let channels = media.kind == .audio && codec.channels > 1 ? "/\(codec.channels)" : ""
        add("rtpmap", "\(codec.payloadType) \(codec.name)/\(codec.clockRate)\(channels)")
        if media.nack { add("rtcp-fb", "\(codec.payloadType) nack") }
        if media.pli { add("rtcp-fb", "\(codec.payloadType) nack pli") }
        if let parameters = formatParameters(for: codec, sends: sends) { add("fmtp", "\(codec.payloadType) \(parameters)") }
        if sends, let ssrc = media.localSSRC {
            let track = "\(options.streamLabel)-\(media.kind == .video ? "video" : "audio")"
            add("msid", "\(options.streamLabel) \(track)")
            add("ssrc", "\(ssrc) cname:\(options.cname)")
            add("ssrc", "\(ssrc) msid:\(options.streamLabel) \(track)")
        }
        for candidate in options.candidates { add("candidate", candidate.attributeValue) }
        if !options.candidates.isEmpty { add("end-of-candidates") }
        return MediaDescription(kind: section.mediaType, port: port, proto: section.proto, formats: ["\(codec.payloadType)"],
                                fields: [SDPField(type: "c", value: connection)], attributes: attributes)
    }

    /// A section the answer rejects: port 0, its mid, inactive (RFC 3264 §6, RFC 8843 §7.3.3).
    func rejected(_ section: OfferedSection) -> MediaDescription {
        var attributes: [SDPAttribute] = []
        if !section.mid.isEmpty, section.mid.utf8.allSatisfy(SDPAttribute.isTokenByte) {
            attributes.append(SDPAttribute(name: "mid", value: section.mid))
        }
        attributes.append(SDPAttribute(name: "inactive"))
        return MediaDescription(kind: section.mediaType, port: 0, proto: section.proto, formats: [section.firstFormat],
                                fields: [SDPField(type: "c", value: "IN IP4 0.0.0.0")], attributes: attributes)
    }

    /// The offer's `a=fmtp` text for `codec`; for Opus with `stereo=1` (this side takes stereo)
    /// and, when sending, `sprop-stereo=1` (RFC 7587 §7.1) added when absent.
    private func formatParameters(for codec: OfferedCodec, sends: Bool) -> String? {
        guard codec.isNamed("opus") else { return codec.formatParameters }
        var text = codec.formatParameters ?? "minptime=10;useinbandfec=1"
        if codec.parameters["stereo"] == nil { text += ";stereo=1" }
        if sends, codec.parameters["sprop-stereo"] == nil { text += ";sprop-stereo=1" }
        return text
    }

    /// The `m=` port and `c=` value: the first UDP candidate with an IP address literal (RFC 8839
    /// §4.2.1.1: the default candidate), else port 9 and 0.0.0.0 (RFC 8840 §4.1.1).
    private var defaultCandidate: (port: Int, connection: String) {
        for candidate in options.candidates where candidate.transport == "udp" {
            if Self.isIPv4(candidate.address) { return (candidate.port, "IN IP4 \(candidate.address)") }
            if candidate.address.contains(":"), candidate.address.utf8.allSatisfy(Self.isIPv6Byte) {
                return (candidate.port, "IN IP6 \(candidate.address)")
            }
        }
        return (9, "IN IP4 0.0.0.0")
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { $0.utf8.count <= 3 && SDPNumber.parse($0, in: 0...255) != nil }
    }

    private static func isIPv6Byte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: ":"), UInt8(ascii: "."): true
        default: false
        }
    }
}

/// One media section of an offer as WebRTC reads it.
public struct OfferedSection: Sendable {
    /// The section's position among the offer's media sections (0-based); the answer keeps it.
    public var index: Int
    /// `a=mid`, or `""` when the section has none.
    public var mid: String
    public var kind: SDPMediaKind
    /// The offerer's direction: the section's, else the session's, else `sendrecv`.
    public var direction: SDPDirection
    /// The RTP formats that read, in the `m=` line's order (the offerer's preference).
    public var codecs: [OfferedCodec]
    /// The media SSRCs the offerer sends, first = primary: every `a=ssrc` except the secondary
    /// members of `FID` and `FEC-FR` groups (retransmission and FEC streams).
    public var ssrcs: [UInt32]
    /// `a=extmap` URIs by id.
    public var extensions: [Int: String]
    /// The `m=` line's media type, port and protocol as written.
    public var mediaType: String
    public var port: Int
    public var proto: String
    /// The first format on the `m=` line (an answer that rejects the section repeats it).
    public var firstFormat: String
    public var rtcpMux: Bool
    public var rtcpReducedSize: Bool
    /// Port 0 without `a=bundle-only`: the offerer disabled this section (RFC 3264 §8.2).
    public var isDisabled: Bool
    /// `a=msid`, when written.
    public var msid: String?

    /// Reads `media` (at `index`) with the session-level direction as the default.
    init(_ media: MediaDescription, index: Int, sessionDirection: SDPDirection?) {
        self.index = index
        mid = media.mid ?? ""
        kind = media.mediaKind
        direction = media.direction ?? sessionDirection ?? .sendrecv
        codecs = Self.codecs(of: media)
        ssrcs = Self.mediaSSRCs(of: media)
        extensions = media.extensions
        mediaType = media.kind
        port = media.port
        proto = media.proto
        firstFormat = media.formats.first ?? "0"
        rtcpMux = media.rtcpMux
        rtcpReducedSize = media.rtcpReducedSize
        isDisabled = media.port == 0 && !media.isBundleOnly
        msid = media.msid
    }

    /// Whether the protocol is secure RTP with feedback or without (`UDP/TLS/RTP/SAVPF`,
    /// `TCP/DTLS/RTP/SAVPF`, `RTP/SAVPF`; RFC 5764 §8).
    public var isSecureRTP: Bool {
        proto.uppercased().hasSuffix("RTP/SAVPF") || proto.uppercased().hasSuffix("RTP/SAVP")
    }

    private static func codecs(of media: MediaDescription) -> [OfferedCodec] {
        let maps = media.rtpMaps, fmtp = media.fmtp, feedback = media.rtcpFeedback
        var seen = Set<UInt8>()
        var codecs: [OfferedCodec] = []
        for format in media.formats {
            guard let payloadType = SDPNumber.payloadType(Substring(format)), seen.insert(payloadType).inserted,
                  let map = maps[payloadType] ?? SDPRTPMap.staticTypes[payloadType] else { continue }
            let text = fmtp[format]
            codecs.append(OfferedCodec(
                payloadType: payloadType, name: map.encodingName, clockRate: map.clockRate, channels: map.channels ?? 1,
                parameters: text.map(OfferedCodec.parameters) ?? [:],
                feedback: (feedback[format] ?? []) + (feedback["*"] ?? []), formatParameters: text))
        }
        return codecs
    }

    private static func mediaSSRCs(of media: MediaDescription) -> [UInt32] {
        var secondary = Set<UInt32>()
        for group in media.ssrcGroups where group.semantics == "FID" || group.semantics == "FEC-FR" {
            secondary.formUnion(group.ssrcs.dropFirst())
        }
        var seen = Set<UInt32>()
        var ssrcs: [UInt32] = []
        for line in media.ssrcs where !secondary.contains(line.ssrc) && seen.insert(line.ssrc).inserted {
            ssrcs.append(line.ssrc)
        }
        for group in media.ssrcGroups where group.semantics == "FID" {
            if let primary = group.ssrcs.first, seen.insert(primary).inserted { ssrcs.append(primary) }
        }
        return ssrcs
    }
}

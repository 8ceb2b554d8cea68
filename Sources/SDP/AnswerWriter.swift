/// Answers a WebRTC offer as an ICE-lite DTLS server that sends (WHEP) or receives (WHIP) one
/// video and one audio section (RFC 8829 §5.3 as WHIP, RFC 9725, and WHEP use it):
///
/// - session: `a=ice-lite`, `a=group:BUNDLE` of the accepted mids when the offer bundles;
/// - each accepted section: this side's ICE credentials, fingerprint and `a=setup:passive`
///   (RFC 5763 §5, RFC 8842 §5.3), the direction, `a=rtcp-mux` (required), `a=rtcp-rsize` when
///   offered, one codec with the offer's payload type and `a=fmtp` (H.264 with
///   packetization-mode 1 preferring profile-level-id 42e01f, then other 42xxxx, then 4d/64;
///   opus/48000/2), `nack` and `nack pli` (video) feedback when offered (no transport-cc or remb),
///   `a=msid` and `a=ssrc` cname/msid when this side sends, and the candidates;
/// - every other section: port 0 with its mid and `a=inactive` (RFC 3264 §6, RFC 8843 §7.3.3).
///
/// Throws when the offer's `a=setup` is `passive` or `holdconn`, or no section is usable; the
/// message says, per section, why (which codecs were offered, which direction).
public func makeAnswer(to offer: WebRTCOffer, options: AnswerOptions) throws(SDPError) -> WebRTCAnswer {
    try AnswerWriter(offer: offer, options: options).answer()
}

struct AnswerWriter {
    let offer: WebRTCOffer
    let options: AnswerOptions

    func answer() throws(SDPError) -> WebRTCAnswer {
        guard ICECredentials.isValidUfrag(options.iceUfrag), ICECredentials.isValidPwd(options.icePwd) else {
            throw SDPError("the answer's own ICE credentials are not valid (ufrag 4–256, pwd 22–256 ICE characters)")
        }
        for (name, value) in [("cname", options.cname), ("stream label", options.streamLabel)] {
            guard !value.isEmpty, value.utf8.count <= 255, value.utf8.allSatisfy(SDPAttribute.isTokenByte) else {
                throw SDPError("the answer's \(name) \(value.sdpQuoted()) is not a token of 1–255 characters")
            }
        }
        guard offer.setup == .actpass || offer.setup == .active else {
            throw SDPError("the offer says a=setup:\(offer.setup.rawValue); Sluice is the DTLS server (setup:passive), so an offer must say actpass or active")
        }
        var accepted: [Int: NegotiatedMedia] = [:]
        var refusals: [String] = []
        var video: NegotiatedMedia?, audio: NegotiatedMedia?
        for section in offer.sections {
            switch decide(section, alreadyAccepted: Array(accepted.values)) {
            case .success(let media):
                accepted[section.index] = media
                if media.kind == .video { video = media } else { audio = media }
            case .failure(let refusal):
                refusals.append("\(section.mediaType) section \(section.index)\(section.mid.isEmpty ? "" : " (mid \(section.mid))"): \(refusal.message)")
            }
        }
        guard !accepted.isEmpty else {
            throw SDPError("the offer has no media section Sluice can answer: " + refusals.joined(separator: "; "))
        }
        let bundle = offer.sections.compactMap { accepted[$0.index]?.mid }.filter { !$0.isEmpty }
        let description = SessionDescription(
            fields: sessionFields, sessionAttributes: sessionAttributes(bundle: bundle),
            media: offer.sections.map { section in accepted[section.index].map { write(section, $0) } ?? rejected(section) })
        return WebRTCAnswer(text: description.text, video: video, audio: audio, setup: .passive, bundle: offer.bundleGroups.isEmpty ? [] : bundle)
    }

    /// The negotiated media for `section`, or why it cannot be used.
    private func decide(_ section: OfferedSection, alreadyAccepted: [NegotiatedMedia]) -> Result<NegotiatedMedia, SDPError> {
        if section.isDisabled { return .failure(SDPError("disabled by the offer (port 0)")) }
        guard section.kind != .other else { return .failure(SDPError("not audio or video")) }
        guard section.isSecureRTP else { return .failure(SDPError("protocol \(section.proto.sdpQuoted()) is not DTLS-SRTP (UDP/TLS/RTP/SAVPF)")) }
        guard section.rtcpMux else { return .failure(SDPError("no a=rtcp-mux (RTP and RTCP must share the port)")) }
        let direction = answerDirection(to: section.direction)
        guard direction != .inactive else {
            return .failure(SDPError("the offer's direction is \(section.direction.rawValue); Sluice \(options.direction.sends ? "sends" : "receives") here, so it needs \(options.direction.reversed.rawValue) or sendrecv"))
        }
        if let bundle = offer.bundleGroups.first {
            guard !section.mid.isEmpty, bundle.contains(section.mid) else { return .failure(SDPError("not in the offer's first BUNDLE group")) }
        } else if !alreadyAccepted.isEmpty {
            return .failure(SDPError("a second section in an offer without a=group:BUNDLE (one transport only)"))
        }
        guard section.mid.isEmpty || section.mid.utf8.allSatisfy(SDPAttribute.isTokenByte) else {
            return .failure(SDPError("a=mid is not a token"))
        }
        guard !alreadyAccepted.contains(where: { $0.kind == section.kind }) else {
            return .failure(SDPError("a second \(section.mediaType) section (Sluice takes one video and one audio)"))
        }
        let names = section.kind == .video ? options.videoCodecs : options.audioCodecs
        guard let codec = CodecChoice.pick(from: section.codecs, names: names) else {
            return .failure(SDPError("offers \(CodecChoice.offeredNames(section)); Sluice takes \(Self.wanted(names))"))
        }
        let sends = direction.sends
        return .success(NegotiatedMedia(
            mid: section.mid, kind: section.kind, payloadType: codec.payloadType, codec: codec,
            remoteSSRC: section.direction.sends ? section.ssrcs.first : nil,
            nack: codec.hasNACK, pli: section.kind == .video && codec.hasPLI,
            localSSRC: sends ? (section.kind == .video ? options.videoSSRC : options.audioSSRC) : nil))
    }

    /// The answer's direction for an offered one: this side sends where both want it sent,
    /// receives where both want it received (RFC 3264 §6.1).
    func answerDirection(to offered: SDPDirection) -> SDPDirection {
        let sends = options.direction.sends && offered.receives
        let receives = options.direction.receives && offered.sends
        switch (sends, receives) {
        case (true, true): return .sendrecv
        case (true, false): return .sendonly
        case (false, true): return .recvonly
        case (false, false): return .inactive
        }
    }

    private static func wanted(_ names: [String]) -> String {
        names.map { name in
            switch name.lowercased() {
            case "h264": "H264 (packetization-mode=1, profile 42/4d/64)"
            case "opus": "opus/48000/2"
            default: name
            }
        }.joined(separator: " or ")
    }
}

/// An offer for a WebRTC client (RFC 8829 §5.2 as a browser writes it): `a=group:BUNDLE` of the
/// sections, each with the given ICE credentials and fingerprint, `a=setup:actpass`, the
/// direction, `a=rtcp-mux` and `a=rtcp-rsize`, and
/// - video (mid "0"): H.264 at `videoPayloadType` (102), `packetization-mode=1`,
///   `profile-level-id=42e01f`, `nack` and `nack pli` feedback;
/// - audio (mid "1"): opus/48000/2 at `audioPayloadType` (111), `minptime=10;useinbandfec=1`, `nack`;
/// - when sending: `a=msid` and `a=ssrc` cname/msid for each SSRC given.
public func makeOffer(options: OfferOptions) -> String {
    var media: [MediaDescription] = []
    if options.video { media.append(offerSection(options, kind: .video, mid: "0")) }
    if options.audio { media.append(offerSection(options, kind: .audio, mid: "\(media.count)")) }
    let fields = SDPField.sessionHeader(seed: options.iceUfrag)
    var attributes = [SDPAttribute(name: "group", value: (["BUNDLE"] + media.compactMap(\.mid)).joined(separator: " "))]
    if options.direction.sends { attributes.append(SDPAttribute(name: "msid-semantic", value: " WMS \(options.streamLabel)")) }
    return SessionDescription(fields: fields, sessionAttributes: attributes, media: media).text
}

private func offerSection(_ options: OfferOptions, kind: SDPMediaKind, mid: String) -> MediaDescription {
    let video = kind == .video
    let payloadType = video ? options.videoPayloadType : options.audioPayloadType
    var attributes: [SDPAttribute] = []
    func add(_ name: String, _ value: String? = nil) { attributes.append(SDPAttribute(name: name, value: value)) }
    add("ice-ufrag", options.iceUfrag)
    add("ice-pwd", options.icePwd)
    add("fingerprint", options.fingerprint.attributeValue)
    add("setup", SDPSetup.actpass.rawValue)
    add("mid", mid)
    add(options.direction.rawValue)
    add("rtcp-mux")
    add("rtcp-rsize")
    if video {
        add("rtpmap", "\(payloadType) H264/90000")
        add("rtcp-fb", "\(payloadType) nack")
        add("rtcp-fb", "\(payloadType) nack pli")
        add("fmtp", "\(payloadType) level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
    } else {
        add("rtpmap", "\(payloadType) opus/48000/2")
        add("rtcp-fb", "\(payloadType) nack")
        add("fmtp", "\(payloadType) minptime=10;useinbandfec=1")
    }
    if options.direction.sends, let ssrc = video ? options.videoSSRC : options.audioSSRC {
        let track = "\(options.streamLabel)-\(video ? "video" : "audio")"
        add("msid", "\(options.streamLabel) \(track)")
        add("ssrc", "\(ssrc) cname:\(options.cname)")
        add("ssrc", "\(ssrc) msid:\(options.streamLabel) \(track)")
    }
    for candidate in options.candidates { add("candidate", candidate.attributeValue) }
    if !options.candidates.isEmpty { add("end-of-candidates") }
    return MediaDescription(kind: video ? "video" : "audio", port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: ["\(payloadType)"],
                            fields: [SDPField(type: "c", value: "IN IP4 0.0.0.0")], attributes: attributes)
}

import SDP

/// The offer a `WebRTCClient` sends: SDP's client offer (H.264 and Opus, setup:actpass) with
/// the client's credentials and fingerprint.
enum ClientOffer {
    /// The payload types the offer gives H.264 and Opus.
    static let videoPayloadType: UInt8 = 102
    static let audioPayloadType: UInt8 = 111

    static func text(role: PeerRole, ufrag: String, pwd: String, fingerprint: SDPFingerprint,
                     videoSSRC: UInt32, audioSSRC: UInt32) -> String {
        let sends = role == .whip
        return makeOffer(options: OfferOptions(iceUfrag: ufrag, icePwd: pwd, fingerprint: fingerprint,
                                               direction: sends ? .sendonly : .recvonly,
                                               videoSSRC: sends ? videoSSRC : nil, audioSSRC: sends ? audioSSRC : nil,
                                               videoPayloadType: videoPayloadType, audioPayloadType: audioPayloadType))
    }
}

/// What a WebRTC client (the load generator, tests) offers: one H.264 video and one Opus audio
/// section, as a browser would for WHEP (`.recvonly`) or WHIP (`.sendonly`).
public struct OfferOptions: Sendable {
    /// This side's `a=ice-ufrag` (4–256 ICE characters).
    public var iceUfrag: String
    /// This side's `a=ice-pwd` (22–256 ICE characters).
    public var icePwd: String
    /// This side's DTLS certificate digest.
    public var fingerprint: SDPFingerprint
    /// `.recvonly` to play (WHEP), `.sendonly` to publish (WHIP).
    public var direction: SDPDirection
    /// Whether to offer the video section (mid "0").
    public var video: Bool
    /// Whether to offer the audio section (mid "1").
    public var audio: Bool
    /// The SSRC of the video this side sends (announced with `a=ssrc` when sending).
    public var videoSSRC: UInt32?
    /// The SSRC of the audio this side sends.
    public var audioSSRC: UInt32?
    /// The RTCP CNAME.
    public var cname: String
    /// The media stream id in `a=msid`; tracks are `<label>-video` and `<label>-audio`.
    public var streamLabel: String
    /// Candidates to write (a client learned by the server through STUN may write none).
    public var candidates: [ICECandidateLine]
    /// The H.264 payload type; default 102.
    public var videoPayloadType: UInt8
    /// The Opus payload type; default 111.
    public var audioPayloadType: UInt8

    public init(iceUfrag: String, icePwd: String, fingerprint: SDPFingerprint, direction: SDPDirection,
                video: Bool = true, audio: Bool = true, videoSSRC: UInt32? = nil, audioSSRC: UInt32? = nil,
                cname: String = "sluice-client", streamLabel: String = "sluice-client", candidates: [ICECandidateLine] = [],
                videoPayloadType: UInt8 = 102, audioPayloadType: UInt8 = 111) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.direction = direction
        self.video = video
        self.audio = audio
        self.videoSSRC = videoSSRC
        self.audioSSRC = audioSSRC
        self.cname = cname
        self.streamLabel = streamLabel
        self.candidates = candidates
        self.videoPayloadType = videoPayloadType
        self.audioPayloadType = audioPayloadType
    }
}

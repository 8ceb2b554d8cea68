/// What the answering side (the Sluice server) puts into an answer besides what it reads from
/// the offer.
public struct AnswerOptions: Sendable {
    /// This side's `a=ice-ufrag` (4–256 ICE characters).
    public var iceUfrag: String
    /// This side's `a=ice-pwd` (22–256 ICE characters).
    public var icePwd: String
    /// This node's DTLS certificate digest.
    public var fingerprint: SDPFingerprint
    /// The candidates written into every accepted section (an ICE-lite server lists all of its own).
    public var candidates: [ICECandidateLine]
    /// This side's direction: `.sendonly` answers a WHEP viewer, `.recvonly` a WHIP publisher.
    public var direction: SDPDirection
    /// The SSRC of the video this side sends (sending answers: announced with `a=ssrc`).
    public var videoSSRC: UInt32?
    /// The SSRC of the audio this side sends.
    public var audioSSRC: UInt32?
    /// The RTCP CNAME written with `a=ssrc:<ssrc> cname:` (RFC 7022); a token (no spaces), 1–255 characters.
    public var cname: String
    /// The media stream id written in `a=msid` (RFC 8830); the tracks are `<label>-video` and
    /// `<label>-audio`. A token (no spaces), 1–255 characters.
    public var streamLabel: String
    /// Video codecs this side accepts, in preference order; default H.264 only.
    public var videoCodecs: [String]
    /// Audio codecs this side accepts, in preference order; default Opus only.
    public var audioCodecs: [String]

    public init(iceUfrag: String, icePwd: String, fingerprint: SDPFingerprint, candidates: [ICECandidateLine],
                direction: SDPDirection, videoSSRC: UInt32? = nil, audioSSRC: UInt32? = nil,
                cname: String = "sluice", streamLabel: String = "sluice",
                videoCodecs: [String] = ["H264"], audioCodecs: [String] = ["opus"]) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.candidates = candidates
        self.direction = direction
        self.videoSSRC = videoSSRC
        self.audioSSRC = audioSSRC
        self.cname = cname
        self.streamLabel = streamLabel
        self.videoCodecs = videoCodecs
        self.audioCodecs = audioCodecs
    }
}

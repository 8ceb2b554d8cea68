/// Where the WebRTC transport listens and what it tells peers, with its limits. Every session
/// shares one UDP socket (RFC 8445 §5 host candidate, demultiplexed by ICE username and then
/// by the peer's address).
public struct WebRTCConfiguration: Sendable {
    /// Address the UDP socket binds to. Default "0.0.0.0".
    public var host: String
    /// UDP port the socket binds to (`--webrtc-port`); 0 lets the kernel pick. Default 8189.
    public var port: Int
    /// Address written into every answer's host candidate (`--webrtc-address`, by default
    /// `--public-host`): what a browser sends its STUN checks and media to.
    public var advertisedAddress: String
    /// Port written into the candidate; nil: the bound port (set it when a NAT or relay in
    /// front maps another port).
    public var advertisedPort: Int?
    /// A connected session with no valid STUN binding request for this long closes ("consent
    /// lost", RFC 7675 §5.1). Default 30 s.
    public var consentTimeout: Duration
    /// A session that has not finished ICE and DTLS this long after it was made closes
    /// ("connect timeout"). Default 10 s.
    public var connectTimeout: Duration
    /// Sessions at most at once; `makeSession` throws past it. Default 10,000.
    public var maxSessions: Int
    /// DTLS record size limit in bytes, also the largest datagram the handshake writes. Default 1200.
    public var dtlsMTU: Int
    /// Whether a frame's packets to one peer leave as segmented datagrams (Linux UDP GSO, where
    /// the kernel has it): one pass through the kernel's send path per run of equal-size packets
    /// instead of one per packet (`--no-webrtc-gso` turns it off). Default true.
    public var segmentationOffload: Bool
    /// Milliseconds of audio per Opus packet sent to WHEP viewers (`--webrtc-opus-frame-ms`): 20
    /// (the default, what browsers send), 40 or 60 (RFC 7587 allows up to 120). Longer packets
    /// mean fewer datagrams per viewer (audio is 50 a second at 20 ms, more than the video's sends)
    /// for that much more audio delay; a lost one loses that much audio.
    public var opusFrameMilliseconds: Int

    /// The Opus frame lengths a libopus encoder makes that Sluice offers, in milliseconds.
    public static let opusFrameChoices = [20, 40, 60]

    public init(host: String = "0.0.0.0", port: Int = 8189, advertisedAddress: String = "127.0.0.1",
                advertisedPort: Int? = nil, consentTimeout: Duration = .seconds(30),
                connectTimeout: Duration = .seconds(10), maxSessions: Int = 10_000, dtlsMTU: Int = 1200,
                segmentationOffload: Bool = true, opusFrameMilliseconds: Int = 20) {
        self.host = host
        self.port = min(max(port, 0), 65_535)
        self.advertisedAddress = advertisedAddress
        self.advertisedPort = advertisedPort.map { min(max($0, 1), 65_535) }
        self.consentTimeout = max(consentTimeout, .milliseconds(10))
        self.connectTimeout = max(connectTimeout, .milliseconds(10))
        self.maxSessions = max(maxSessions, 0)
        self.dtlsMTU = min(max(dtlsMTU, 576), 1500)
        self.segmentationOffload = segmentationOffload
        self.opusFrameMilliseconds = Self.opusFrameChoices.contains(opusFrameMilliseconds) ? opusFrameMilliseconds : 20
    }
}

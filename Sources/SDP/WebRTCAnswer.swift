/// An answer made by `makeAnswer(to:options:)`: the text to send back and what it agreed.
public struct WebRTCAnswer: Sendable {
    /// The answer, CRLF line ends.
    public var text: String
    /// The accepted video section, if any.
    public var video: NegotiatedMedia?
    /// The accepted audio section, if any.
    public var audio: NegotiatedMedia?
    /// This side's DTLS role: always `.passive` (the DTLS server; RFC 5763 §5).
    public var setup: SDPSetup
    /// The mids in the answer's BUNDLE group (the accepted sections), in order.
    public var bundle: [String]

    public init(text: String, video: NegotiatedMedia?, audio: NegotiatedMedia?, setup: SDPSetup = .passive, bundle: [String] = []) {
        self.text = text
        self.video = video
        self.audio = audio
        self.setup = setup
        self.bundle = bundle
    }
}

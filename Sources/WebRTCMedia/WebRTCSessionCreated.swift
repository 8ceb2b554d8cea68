/// A WebRTC session made for a WHEP viewer or a WHIP publisher: the HTTP edge answers `201` with
/// `answer` as the body and `Location: /{id}/whep/{sessionID}` (RFC 9725 §4.2).
public struct WebRTCSessionCreated: Sendable, Equatable {
    /// 32 hex characters, unguessable: the session resource's URL ends with it.
    public var sessionID: String
    /// The SDP answer (CRLF line ends).
    public var answer: String

    public init(sessionID: String, answer: String) {
        self.sessionID = sessionID
        self.answer = answer
    }
}

import NIOCore

/// A packaged resource ready to send, or why there is none. HTTP details (status codes, cache
/// headers) are the API's business; this says what the answer is.
public enum PackagedResponse: Sendable {
    /// The bytes and an entity tag; `isPlaylist` answers change, everything else is immutable.
    case content(ByteBuffer, contentType: String, entityTag: String, isPlaylist: Bool)
    /// No such resource: unknown name, or it left the window.
    case notFound
    /// A blocking request too far ahead of the live edge (RFC 8216bis §6.2.5.2).
    case tooFarAhead(String)
    /// A blocking request the stream did not satisfy in time.
    case timedOut
    /// A start-over playlist (`PlaylistRequest.start`) whose start the window does not cover.
    case startUnavailable(StartUnavailable)
}

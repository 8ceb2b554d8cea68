import Events
import SDP

/// What the HTTP edge asks of WHEP playback (RFC 9725, WebRTC-HTTP Egress Protocol): the API
/// target calls it after the viewer was admitted like any other play (signed URL, admission hook).
public protocol WHEPPlayback: Sendable {
    /// Starts a viewer of `stream` (a rendition of it when `rendition` is not empty) for `offer`.
    /// - Returns: the session's id (the resource URL's last component) and the SDP answer, or why
    ///   the stream cannot be played over WebRTC.
    func play(stream: StreamID, rendition: String, offer: WebRTCOffer, clientIP: String?) async
        -> Result<WebRTCSessionCreated, WebRTCRefusal>
    /// Ends the viewer `session` of `stream` (the resource's `DELETE`). False when there is no such viewer.
    func end(stream: StreamID, session: String) async -> Bool
    /// Every live WHEP viewer's numbers, for `/metrics`, the streams API and the console. Cheap:
    /// callable from any thread at any rate.
    var viewers: [WebRTCViewerStatistics] { get }
}

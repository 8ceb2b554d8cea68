import Events
import SDP

/// What the HTTP edge asks of WHIP ingest (draft-ietf-wish-whip / RFC 9725): a publish offered
/// with `POST /{id}/whip`, ended with `DELETE /{id}/whip/{session}`.
///
/// Implemented in `Ingest` (`WHIPIngestService`) through the publish path every protocol takes:
/// the push signature over `/{app}/{id}`, the channel, the admission hook (protocol `whip`), the
/// bus and the cluster-wide publish lock, exactly as for RTMP and SRT.
public protocol WHIPPublishing: Sendable {
    /// Admits a publish of the stream `name` and answers its offer.
    /// - Parameters:
    ///   - name: the `{id}` of the URL, as sent (made canonical by the publish path).
    ///   - sign: the push signature, from `Authorization: Bearer {exp}-{md5}` or `?sign=`; nil when neither was given.
    ///   - query: the request's query, as admission hooks see it.
    ///   - offer: the publisher's SDP offer, already parsed.
    ///   - clientIP: the publisher's IP address (no port), as admission hooks are told it.
    ///   - peer: `host:port` of the HTTP client, for logs and `stream.online`.
    /// - Returns: the session's id (the resource URL's last segment) and the SDP answer, or why not.
    func publish(name: String, sign: String?, query: [String: String], offer: WebRTCOffer, clientIP: String?, peer: String)
        async -> Result<WebRTCSessionCreated, WebRTCRefusal>

    /// Ends the WHIP session `session` of `stream` (`DELETE`): the stream goes offline as
    /// unpublished. False when no such session publishes that stream on this node.
    func end(stream: StreamID, session: String) async -> Bool
}
